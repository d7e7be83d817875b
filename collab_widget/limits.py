"""Protocol v1's limits, each stated once: the server validates with them, the kernel-side
``Room`` widget checks with them, and ``src/limits.ts`` repeats them for the browser (a test,
``tests/test_limits_unit.py``, keeps the two sides equal).

Plain module, standard library only: the kernel imports it.
"""

from __future__ import annotations

import re

#: The longest chat message, in characters (the default of ``CollabApp.max_text_length``).
MAX_TEXT_LENGTH = 4000
#: The longest room name, in characters.
MAX_ROOM_NAME = 128
#: The characters a room name is made of, as a regex character class body.
ROOM_NAME_CHARS = r"A-Za-z0-9 _.\-/:"
#: A whole valid room name (use ``fullmatch``; the TypeScript twin is anchored with ^...$).
ROOM_NAME_RE = re.compile(rf"[{ROOM_NAME_CHARS}]{{1,{MAX_ROOM_NAME}}}")
#: The room-name rule in words, for error messages.
ROOM_NAME_RULE = f"1-{MAX_ROOM_NAME} letters, digits, spaces and _ . - / :"
#: The longest ``client_id`` of a sent message.
MAX_CLIENT_ID = 64
#: The longest notebook ``path`` in a presence state.
MAX_PATH = 1024
#: The longest ``cell_id`` in a presence state.
MAX_CELL_ID = 64
#: The most ``selections`` in a presence state.
MAX_SELECTIONS = 16
#: The largest ``limit`` of one ``history`` request.
MAX_HISTORY_LIMIT = 200
#: The largest integer a client may send (``since``, ``before``, ``after``, ``limit``): the
#: largest a JavaScript number holds exactly, 2**53 - 1.
MAX_SAFE_INTEGER = 2**53 - 1
#: Messages per history page, and in a join without ``since`` (``CollabApp.history_page_size``).
HISTORY_PAGE_SIZE = 50
#: The values of a presence state's ``mode``.
PRESENCE_MODES = frozenset({"edit", "command"})
#: The values of a presence state's ``activity``.
PRESENCE_ACTIVITY = frozenset({"active", "idle", "away"})
#: The longest ``username`` of a User (a longer one is shortened and made unique with a hash).
MAX_USERNAME = 128
#: The longest ``name`` of a User (users may set it: ``PATCH /api/me``).
MAX_USER_NAME = 128
#: The longest ``display_name`` of a User (users may set it).
MAX_DISPLAY_NAME = 64
#: The longest ``initials`` of a User (users may set them).
MAX_INITIALS = 3
#: The longest ``avatar_url`` of a User; a longer one is dropped (users may set it).
MAX_AVATAR_URL = 2048
#: A User's own ``color`` is used only when it is ``#rgb`` or ``#rrggbb`` (use ``fullmatch``).
COLOR_RE = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")


#: Classroom mode (protocol 1.1): the longest poll question, in characters.
MAX_POLL_QUESTION = 500
#: The fewest and the most options of a poll.
MIN_POLL_OPTIONS = 2
MAX_POLL_OPTIONS = 8
#: The longest poll option, in characters.
MAX_POLL_OPTION = 100
#: How many polls of a room may be open at once.
MAX_OPEN_POLLS = 5
#: How many closed polls a room keeps (the newest), beside its open ones.
KEPT_CLOSED_POLLS = 10
#: A snippet's ``language``: 1-32 of these characters (use ``fullmatch``).
LANGUAGE_RE = re.compile(r"[a-z0-9+#._-]{1,32}")
#: The language of a snippet that names none.
DEFAULT_LANGUAGE = "python"
#: The roles of a room's members.
ROLES = ("teacher", "student")


def valid_room_name(name: str) -> bool:
    """Whether ``name`` is a valid room name (see :data:`ROOM_NAME_RULE`)."""
    return ROOM_NAME_RE.fullmatch(name) is not None
