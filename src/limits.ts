/**
 * The protocol's limits, defined once for the browser side (docs/protocol.md).
 *
 * The server's copy is `collab_widget/limits.py`; a Python test reads this file and checks
 * that both sides agree. Where a limit is configurable on the server (max_text_length,
 * history_page_size), this is its default.
 */

/** Longest chat message, in characters (the server's `max_text_length` default). */
export const MAX_TEXT_LENGTH = 4000;

/** Longest room name, in characters. */
export const MAX_ROOM_NAME = 128;

/** Valid room names: 1-128 letters, digits, space and `_ . - / :`. */
export const ROOM_NAME_RE = /^[A-Za-z0-9 _.\-/:]{1,128}$/;

/** Longest client id of a chat message. */
export const MAX_CLIENT_ID = 64;

/** Messages per history page (the server's `history_page_size` default). */
export const HISTORY_PAGE_SIZE = 50;

/** Longest notebook path in a presence state. */
export const MAX_PRESENCE_PATH = 1024;

/** Longest cell id in a presence state. */
export const MAX_PRESENCE_CELL_ID = 64;

/** Most selections in a presence state. */
export const MAX_PRESENCE_SELECTIONS = 16;

/** Longest avatar URL of a user; a longer one is not loaded. */
export const MAX_AVATAR_URL = 2048;

/** Classroom mode: the longest poll question, in characters. */
export const MAX_POLL_QUESTION = 500;

/** The fewest options of a poll. */
export const MIN_POLL_OPTIONS = 2;

/** The most options of a poll. */
export const MAX_POLL_OPTIONS = 8;

/** The longest poll option, in characters. */
export const MAX_POLL_OPTION = 100;

/** How many polls of a room may be open at once. */
export const MAX_OPEN_POLLS = 5;

/** A snippet's `language`. */
export const LANGUAGE_RE = /^[a-z0-9+#._-]{1,32}$/;

/** The longest `username` (a presence state's `following` names one). */
export const MAX_USERNAME = 128;
