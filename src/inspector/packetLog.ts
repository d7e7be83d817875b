/**
 * PacketLog: the Network pane's capture (pure: no DOM, no socket). A bounded buffer of
 * described packets; Socket.IO acks matched to their events by ack id (with the round trip),
 * and each pong to the ping it answers.
 */
import type { IHandshakeInfo, IRawPacket } from '../tokens';
import { describePacket, IPacketRecord } from './packets';

/** How many packets a capture keeps by default (the oldest go first). */
export const CAPTURE_LIMIT = 500;
/** How many events waiting for their ack are remembered. */
const MAX_WAITING = 200;

/** What `add` changed: the new record, and the earlier one it was matched with. */
export interface IAdded {
  readonly record: IPacketRecord;
  readonly matched: IPacketRecord | null;
  /** Records that fell out of the buffer. */
  readonly dropped: ReadonlyArray<IPacketRecord>;
}

export class PacketLog {
  constructor(limit = CAPTURE_LIMIT) {
    this.limit = limit;
  }

  readonly limit: number;

  /** The kept records, oldest first. */
  get records(): ReadonlyArray<IPacketRecord> {
    return this._records;
  }
  /** How many records fell out of the buffer since the last clear. */
  get dropped(): number {
    return this._dropped;
  }

  /** Describe a packet, match it and keep it. */
  add(raw: IRawPacket): IAdded {
    const record: IPacketRecord = { id: ++this._lastId, ...describePacket(raw) };
    const matched = this._match(record);
    this._records.push(record);
    const dropped = this._records.splice(0, Math.max(0, this._records.length - this.limit));
    this._dropped += dropped.length;
    return { record, matched, dropped };
  }

  /** Forget every record (and what waits for a match). */
  clear(): void {
    this._records = [];
    this._dropped = 0;
    this._waiting.clear();
    this._ping = null;
  }

  /** The capture as a JSON-able object (the pane's export). */
  toJSON(handshake: IHandshakeInfo | null, exportedAt = Date.now()): ICaptureExport {
    return {
      format: 'collab-widget network capture 1',
      exported_at: new Date(exportedAt).toISOString(),
      limit: this.limit,
      dropped: this._dropped,
      handshake,
      packets: this._records.map(r => ({ ...r }))
    };
  }

  /**
   * An ACK going one way answers the EVENT with the same namespace and ack id that went the
   * other way; a pong we send answers the server's ping (Engine.IO v4: the server pings).
   */
  private _match(record: IPacketRecord): IPacketRecord | null {
    if (record.engine === 'ping' && record.note !== 'probe') {
      this._ping = record;
      return null;
    }
    if (record.engine === 'pong' && record.note !== 'probe') {
      const ping = this._ping;
      this._ping = null;
      return ping && ping.dir !== record.dir ? link(ping, record) : null;
    }
    if (record.ackId === null) {
      return null;
    }
    if (record.socket === 'EVENT' || record.socket === 'BINARY_EVENT') {
      this._waiting.set(`${record.dir}|${record.nsp}|${record.ackId}`, record);
      if (this._waiting.size > MAX_WAITING) {
        this._waiting.delete(this._waiting.keys().next().value as string);
      }
      return null;
    }
    if (record.socket === 'ACK' || record.socket === 'BINARY_ACK') {
      const other = record.dir === 'in' ? 'out' : 'in';
      const key = `${other}|${record.nsp}|${record.ackId}`;
      const event = this._waiting.get(key);
      if (event) {
        this._waiting.delete(key);
        record.event = event.event;
        return link(event, record);
      }
    }
    return null;
  }

  private _records: IPacketRecord[] = [];
  private _lastId = 0;
  private _dropped = 0;
  private _waiting = new Map<string, IPacketRecord>();
  private _ping: IPacketRecord | null = null;
}

/** Link a request and its answer; both get the round trip in whole-ish milliseconds. */
function link(request: IPacketRecord, answer: IPacketRecord): IPacketRecord {
  const rtt = Math.max(0, Math.round((answer.ts - request.ts) * 10) / 10);
  request.rtt = rtt;
  request.match = answer.id;
  answer.rtt = rtt;
  answer.match = request.id;
  return request;
}

/** What "Export JSON" saves. */
export interface ICaptureExport {
  readonly format: string;
  readonly exported_at: string;
  readonly limit: number;
  readonly dropped: number;
  readonly handshake: IHandshakeInfo | null;
  readonly packets: ReadonlyArray<IPacketRecord>;
}

/**
 * Whether a record matches the pane's filter: a part of its event name (an ACK carries the
 * name of the event it answers), or of its Engine.IO or Socket.IO type; case-insensitive.
 */
export function matchesFilter(record: IPacketRecord, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (!f) {
    return true;
  }
  return [record.event, record.engine, record.socket].some(
    v => typeof v === 'string' && v.toLowerCase().includes(f)
  );
}
