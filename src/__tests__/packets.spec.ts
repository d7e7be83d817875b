/**
 * The Network pane's decoder: Engine.IO packet types, Socket.IO packets inside messages
 * (types, namespaces, ack ids, binary attachments) and what it says about malformed input.
 */
import {
  decodeSocketPacket,
  describePacket,
  previewOf,
  shorten,
  utf8Length
} from '../inspector/packets';
import type { IRawPacket } from '../tokens';

function raw(type: string, data: unknown, dir: 'in' | 'out' = 'in'): IRawPacket {
  return { dir, type, data, ts: 1000, transport: 'websocket' };
}

describe('decodeSocketPacket', () => {
  it('reads each Socket.IO packet type', () => {
    expect(decodeSocketPacket('0')).toMatchObject({ type: 'CONNECT', nsp: '/', id: null });
    expect(decodeSocketPacket('0{"sid":"abc"}')).toMatchObject({
      type: 'CONNECT',
      data: { sid: 'abc' }
    });
    expect(decodeSocketPacket('1')).toMatchObject({ type: 'DISCONNECT', data: undefined });
    expect(decodeSocketPacket('2["send",{"text":"hi"}]')).toMatchObject({
      type: 'EVENT',
      id: null,
      data: ['send', { text: 'hi' }],
      header: '2'
    });
    expect(decodeSocketPacket('3[{"ok":true}]')).toMatchObject({ type: 'ACK' });
    expect(decodeSocketPacket('4{"message":"too many connections"}')).toMatchObject({
      type: 'CONNECT_ERROR',
      data: { message: 'too many connections' }
    });
    expect(decodeSocketPacket('4"refused"')).toMatchObject({ type: 'CONNECT_ERROR' });
  });

  it('reads ack ids, also after a namespace', () => {
    expect(decodeSocketPacket('212["send",{}]')).toMatchObject({
      type: 'EVENT',
      id: 12,
      nsp: '/',
      header: '212'
    });
    expect(decodeSocketPacket('312[{"ok":true}]')).toMatchObject({ type: 'ACK', id: 12 });
    expect(decodeSocketPacket('2/admin,7["x"]')).toMatchObject({
      type: 'EVENT',
      nsp: '/admin',
      id: 7,
      data: ['x'],
      header: '2/admin,7'
    });
    expect(decodeSocketPacket('0/admin,')).toMatchObject({ type: 'CONNECT', nsp: '/admin' });
    expect(decodeSocketPacket('1/admin')).toMatchObject({ type: 'DISCONNECT', nsp: '/admin' });
  });

  it('reads binary packets and their attachment count', () => {
    const p = decodeSocketPacket('51-["upload",{"_placeholder":true,"num":0}]');
    expect(p).toMatchObject({ type: 'BINARY_EVENT', attachments: 1, id: null, header: '51-' });
    expect(decodeSocketPacket('62-/x,3[{"_placeholder":true,"num":1}]')).toMatchObject({
      type: 'BINARY_ACK',
      attachments: 2,
      nsp: '/x',
      id: 3
    });
  });

  it('says what is wrong with malformed packets', () => {
    expect(decodeSocketPacket('')).toHaveProperty('error');
    expect(decodeSocketPacket('9["x"]')).toEqual({ error: 'unknown packet type "9"' });
    expect(decodeSocketPacket('x')).toHaveProperty('error');
    expect(decodeSocketPacket('2["x"')).toEqual({ error: 'invalid JSON' });
    expect(decodeSocketPacket('2{"a":1}')).toHaveProperty('error');
    expect(decodeSocketPacket('2[1,2]')).toHaveProperty('error');
    expect(decodeSocketPacket('3{"ok":true}')).toEqual({ error: 'an ack is an array' });
    expect(decodeSocketPacket('0[1]')).toHaveProperty('error');
    expect(decodeSocketPacket('1{}')).toHaveProperty('error');
    expect(decodeSocketPacket('4 12')).toHaveProperty('error');
    expect(decodeSocketPacket('5["x"]')).toEqual({ error: 'illegal attachments' });
    expect(decodeSocketPacket('5a-["x"]')).toEqual({ error: 'illegal attachments' });
  });
});

describe('describePacket', () => {
  it('names every Engine.IO type, with its size on the wire', () => {
    const open = describePacket(raw('open', '{"sid":"s1","upgrades":[]}'));
    expect(open).toMatchObject({ engine: 'open', socket: null, head: '0', size: 27 });
    expect(open.wire).toBe('0{"sid":"s1","upgrades":[]}');
    for (const [type, digit] of [
      ['close', '1'],
      ['ping', '2'],
      ['pong', '3'],
      ['upgrade', '5'],
      ['noop', '6']
    ]) {
      expect(describePacket(raw(type, undefined))).toMatchObject({
        engine: type,
        head: digit,
        size: 1,
        wire: digit
      });
    }
    expect(describePacket(raw('ping', 'probe'))).toMatchObject({
      wire: '2probe',
      preview: 'probe',
      size: 6
    });
    expect(describePacket(raw('error', 'oops'))).toMatchObject({ engine: 'error', head: '' });
  });

  it('decodes the Socket.IO event inside a message', () => {
    const text = '23["send",{"room":"r","text":"héllo","client_id":"c1"}]';
    const r = describePacket(raw('message', text, 'out'));
    expect(r).toMatchObject({
      dir: 'out',
      engine: 'message',
      socket: 'EVENT',
      event: 'send',
      ackId: 3,
      nsp: '/',
      head: '423',
      note: ''
    });
    expect(r.preview).toBe('{"room":"r","text":"héllo","client_id":"c1"}');
    expect(r.size).toBe(utf8Length(`4${text}`));
    expect(r.size).toBe(`4${text}`.length + 1); // é is two bytes
  });

  it('shows binary attachments and placeholders without their bytes', () => {
    const event = describePacket(raw('message', '51-["upload",{"_placeholder":true,"num":0}]'));
    expect(event).toMatchObject({ socket: 'BINARY_EVENT', event: 'upload' });
    expect(event.preview).toBe('"<binary #0>"');
    const attachment = describePacket(raw('message', new Uint8Array([1, 2, 3]).buffer));
    expect(attachment).toMatchObject({ socket: 'binary', size: 3, preview: 'binary, 3 bytes' });
  });

  it('keeps a malformed message as text, with a note', () => {
    const r = describePacket(raw('message', '2["x"'));
    expect(r).toMatchObject({ engine: 'message', socket: null, preview: '2["x"' });
    expect(r.note).toBe('malformed: invalid JSON');
  });

  it('keeps only a short preview and wire text of a large payload', () => {
    const big = `2["send",{"text":"${'x'.repeat(100000)}"}]`;
    const r = describePacket(raw('message', big));
    expect(r.preview.length).toBeLessThanOrEqual(120);
    expect(r.wire.length).toBeLessThanOrEqual(200);
    expect(r.preview.endsWith('…')).toBe(true);
    expect(r.size).toBe(big.length + 1);
  });
});

describe('text helpers', () => {
  it('counts UTF-8 bytes', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
  });

  it('never cuts a surrogate pair in half', () => {
    const cut = shorten(`${'a'.repeat(8)}😀😀`, 10);
    expect(cut).toBe(`${'a'.repeat(8)}…`);
    expect(shorten('short', 10)).toBe('short');
  });

  it('previews values as JSON text', () => {
    expect(previewOf(undefined)).toBe('');
    expect(previewOf({ a: '<b>' })).toBe('{"a":"<b>"}');
    expect(previewOf([1, 2])).toBe('[1,2]');
  });
});
