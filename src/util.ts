/**
 * Small helpers without JupyterLab dependencies.
 */
import { MAX_AVATAR_URL } from './limits';

/** The value of the last `name=` cookie (tornado reads the last duplicate, JupyterLab 4.6 too). */
export function getCookie(name: string): string | undefined {
  let cookie = '';
  try {
    cookie = document.cookie;
  } catch {
    return undefined;
  }
  const prefix = name + '=';
  let value: string | undefined;
  for (const part of cookie.split(';')) {
    const trimmed = part.trim();
    if (trimmed.startsWith(prefix)) {
      value = trimmed.substring(prefix.length);
    }
  }
  return value;
}

/** A new client id for a chat message (1-64 characters). */
export function newClientId(): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  let out = 'c-';
  for (const b of bytes) {
    out += b.toString(16).padStart(2, '0');
  }
  return out;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** HH:MM:SS in local time. */
export function formatClock(ts: number): string {
  const d = new Date(ts);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** HH:MM in local time, with the date when it is not today. */
export function formatMessageTime(ts: number): string {
  const d = new Date(ts);
  const now = new Date();
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (
    d.getFullYear() === now.getFullYear() &&
    d.getMonth() === now.getMonth() &&
    d.getDate() === now.getDate()
  ) {
    return hm;
  }
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

/** A display name for a user-like object. */
export function displayName(user: {
  display_name?: string | null;
  name?: string | null;
  username: string;
}): string {
  return user.display_name || user.name || user.username;
}

/** Initials for a user-like object. */
export function initialsOf(user: {
  initials?: string | null;
  display_name?: string | null;
  name?: string | null;
  username: string;
}): string {
  if (user.initials) {
    return user.initials.slice(0, 3);
  }
  const words = displayName(user).split(/\s+/).filter(Boolean);
  return words
    .slice(0, 2)
    .map(w => w[0].toUpperCase())
    .join('');
}

/**
 * An avatar URL the browser may load, or null: only an absolute http(s) URL with a host, at
 * most MAX_AVATAR_URL characters (the server drops any other; this is the second lock).
 * Relative URLs, `javascript:`, `data:` and every other scheme are refused.
 */
export function safeAvatarUrl(url: string | null | undefined): string | null {
  if (!url || typeof url !== 'string' || url.length > MAX_AVATAR_URL) {
    return null;
  }
  let parsed: URL;
  try {
    parsed = new URL(url); // no base: a relative URL throws
  } catch {
    return null;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !parsed.hostname) {
    return null;
  }
  if (parsed.username || parsed.password) {
    return null;
  }
  return parsed.href;
}

/** A member colour: `#rgb` or `#rrggbb` only (what the server hands out), else null. */
export function safeColor(color: string | null | undefined): string | null {
  if (!color || typeof color !== 'string') {
    return null;
  }
  return /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(color) ? color : null;
}

/** Compute the origin and the Socket.IO path for a server base URL. */
export function socketEndpoint(baseUrl: string): { origin: string; path: string } {
  const base = new URL(baseUrl, window.location.href);
  // The path is an option, never part of the URL: socket.io-client would take it as a namespace.
  const path = base.pathname.replace(/\/*$/, '/') + 'collab/socket.io/';
  return { origin: base.origin, path };
}
