/**
 * Decoding what goes over the wire, for the Network pane (pure: no DOM, no socket).
 *
 * An Engine.IO packet is a type digit and its data (`4` + data for a message); a Socket.IO
 * packet travels as the data of an Engine.IO message:
 * `<type>[<attachments>-][<namespace>,][<ack id>][JSON]`, e.g. `42["send",{...}]` (an EVENT) or
 * `431[{...}]` (the ACK of ack id 1). Binary attachments follow as separate binary messages.
 */
import type { IRawPacket } from '../tokens';

/** Engine.IO packet types, by their digit on the wire. */
export const ENGINE_TYPES = [
  'open',
  'close',
  'ping',
  'pong',
  'message',
  'upgrade',
  'noop'
] as const;
export type EngineType = (typeof ENGINE_TYPES)[number];

/** Socket.IO packet types, by their digit on the wire. */
export const SOCKET_TYPES = [
  'CONNECT',
  'DISCONNECT',
  'EVENT',
  'ACK',
  'CONNECT_ERROR',
  'BINARY_EVENT',
  'BINARY_ACK'
] as const;
export type SocketType = (typeof SOCKET_TYPES)[number];

/** How many characters of a payload a record keeps. */
export const PREVIEW_LENGTH = 120;
/** How many characters of the wire text a record keeps. */
export const WIRE_LENGTH = 200;

/** A decoded Socket.IO packet. */
export interface ISocketPacket {
  readonly type: SocketType;
  /** The namespace, `/` when the packet names none. */
  readonly nsp: string;
  /** The ack id: an EVENT that wants an answer, or the ACK that answers it. */
  readonly id: number | null;
  /** BINARY_EVENT / BINARY_ACK: how many binary attachments follow. */
  readonly attachments: number | null;
  /** The parsed JSON payload (undefined when there is none). */
  readonly data: unknown;
  /** The text before the JSON: type digit, `attachments-`, `namespace,`, ack id. */
  readonly header: string;
}

/** What one packet was, as the Network pane lists it. */
export interface IPacketRecord {
  /** Increasing within one capture. */
  readonly id: number;
  /** Milliseconds since the epoch (with a fraction). */
  readonly ts: number;
  readonly dir: 'in' | 'out';
  /** The transport it went over: `websocket` or `polling`. */
  readonly transport: string;
  /** Bytes of the encoded Engine.IO packet (UTF-8 text, or the binary length). */
  readonly size: number;
  /** The Engine.IO type (`error` or `?` for anything else). */
  readonly engine: string;
  /** For messages: the Socket.IO type, `binary` for an attachment, null otherwise. */
  readonly socket: SocketType | 'binary' | null;
  readonly nsp: string | null;
  readonly ackId: number | null;
  /** EVENT: its name; ACK: the name of the event it answers, once matched. */
  event: string | null;
  /** The start of the packet on the wire: Engine.IO type digit and Socket.IO header (`42`). */
  readonly head: string;
  /** A short text of the payload (shown as text, never as HTML). */
  readonly preview: string;
  /** The packet as it was encoded, shortened. */
  readonly wire: string;
  /** ACK: ms since its EVENT; EVENT: ms until its ACK; pong: ms since the ping. */
  rtt: number | null;
  /** The record this one is matched with (an EVENT and its ACK, a ping and its pong). */
  match: number | null;
  /** Something worth saying: `probe`, `malformed: ...`. */
  readonly note: string;
}

/** Bytes of a string in UTF-8 (without TextEncoder, which jsdom lacks). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      n += 1;
    } else if (c < 0x800) {
      n += 2;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 4;
        i++;
        continue;
      }
      n += 3;
    } else {
      n += 3;
    }
  }
  return n;
}

/** At most `max` characters, with an ellipsis when cut (never half a surrogate pair). */
export function shorten(text: string, max: number): string {
  if (text.length <= max) {
    return text;
  }
  let cut = max - 1;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) {
    cut--;
  }
  return `${text.slice(0, cut)}…`;
}

/** JSON text of a value for a preview; binary placeholders shown as `<binary #n>`. */
export function previewOf(value: unknown, max = PREVIEW_LENGTH): string {
  if (value === undefined) {
    return '';
  }
  let text: string;
  try {
    text =
      JSON.stringify(value, (_key, v: unknown) => (isPlaceholder(v) ? `<binary #${v.num}>` : v)) ??
      '';
  } catch {
    text = String(value);
  }
  return shorten(text, max);
}

function isPlaceholder(v: unknown): v is { _placeholder: true; num: number } {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as Record<string, unknown>)._placeholder === true &&
    typeof (v as Record<string, unknown>).num === 'number'
  );
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/**
 * Decode a Socket.IO packet from the text of an Engine.IO message (as socket.io-parser does).
 * Returns `{error}` for anything socket.io-parser would refuse.
 */
export function decodeSocketPacket(text: string): ISocketPacket | { error: string } {
  const type = SOCKET_TYPES[Number(text.charAt(0))];
  if (text === '' || !isDigit(text.charAt(0)) || type === undefined) {
    return { error: `unknown packet type ${JSON.stringify(text.charAt(0))}` };
  }
  let i = 1;
  let attachments: number | null = null;
  if (type === 'BINARY_EVENT' || type === 'BINARY_ACK') {
    const dash = text.indexOf('-', i);
    const count = dash < 0 ? '' : text.slice(i, dash);
    if (!count || ![...count].every(isDigit)) {
      return { error: 'illegal attachments' };
    }
    attachments = Number(count);
    i = dash + 1;
  }
  let nsp = '/';
  if (text.charAt(i) === '/') {
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma < 0 ? end : end + 1;
  }
  let id: number | null = null;
  const idStart = i;
  while (i < text.length && isDigit(text.charAt(i))) {
    i++;
  }
  if (i > idStart) {
    id = Number(text.slice(idStart, i));
  }
  let data: unknown = undefined;
  if (i < text.length) {
    try {
      data = JSON.parse(text.slice(i));
    } catch {
      return { error: 'invalid JSON' };
    }
  }
  const problem = payloadProblem(type, data);
  if (problem) {
    return { error: problem };
  }
  return { type, nsp, id, attachments, data, header: text.slice(0, i) };
}

/** Why a payload does not fit its packet type (socket.io-parser's isPayloadValid), or ''. */
function payloadProblem(type: SocketType, data: unknown): string {
  switch (type) {
    case 'CONNECT':
      return data === undefined || isObject(data) ? '' : 'CONNECT payload must be an object';
    case 'DISCONNECT':
      return data === undefined ? '' : 'DISCONNECT takes no payload';
    case 'CONNECT_ERROR':
      return typeof data === 'string' || isObject(data) ? '' : 'invalid CONNECT_ERROR payload';
    case 'EVENT':
    case 'BINARY_EVENT':
      return Array.isArray(data) && typeof data[0] === 'string'
        ? ''
        : 'an event is an array starting with its name';
    default:
      return Array.isArray(data) ? '' : 'an ack is an array';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Bytes of binary data (ArrayBuffer, a typed array or a Blob), or null for anything else. */
function binaryLength(data: unknown): number | null {
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    return data.byteLength;
  }
  if (typeof Blob !== 'undefined' && data instanceof Blob) {
    return data.size;
  }
  return null;
}

/** Describe one Engine.IO packet (not yet numbered or matched). */
export function describePacket(raw: IRawPacket): Omit<IPacketRecord, 'id'> {
  const digit = ENGINE_TYPES.indexOf(raw.type as EngineType);
  const engine = digit < 0 ? raw.type || '?' : raw.type;
  const base = {
    ts: raw.ts,
    dir: raw.dir,
    transport: raw.transport,
    engine,
    socket: null,
    nsp: null,
    ackId: null,
    event: null,
    rtt: null,
    match: null
  };
  const bytes = binaryLength(raw.data);
  if (bytes !== null) {
    // A binary message: an attachment of the BINARY_* packet before it.
    return {
      ...base,
      size: bytes,
      socket: raw.type === 'message' ? 'binary' : null,
      head: '',
      preview: `binary, ${bytes} bytes`,
      wire: `<${bytes} bytes>`,
      note: raw.note ?? ''
    };
  }
  const data = typeof raw.data === 'string' ? raw.data : '';
  const encoded = `${digit < 0 ? '' : digit}${data}`;
  const common = {
    ...base,
    size: utf8Length(encoded),
    wire: shorten(encoded, WIRE_LENGTH),
    head: digit < 0 ? '' : String(digit)
  };
  if (raw.type !== 'message') {
    return { ...common, preview: shorten(data, PREVIEW_LENGTH), note: raw.note ?? '' };
  }
  const decoded = decodeSocketPacket(data);
  if ('error' in decoded) {
    const note = `malformed: ${decoded.error}`;
    return { ...common, preview: shorten(data, PREVIEW_LENGTH), note };
  }
  const isEvent = decoded.type === 'EVENT' || decoded.type === 'BINARY_EVENT';
  const args = isEvent ? (decoded.data as unknown[]).slice(1) : decoded.data;
  return {
    ...common,
    head: shorten(`${digit}${decoded.header}`, 40),
    socket: decoded.type,
    nsp: decoded.nsp,
    ackId: decoded.id,
    event: isEvent ? ((decoded.data as unknown[])[0] as string) : null,
    preview: previewOf(isEvent && (args as unknown[]).length === 1 ? (args as unknown[])[0] : args),
    note: raw.note ?? ''
  };
}
