import { MAX_ROOM_NAME, ROOM_NAME_RE } from '../limits';
import { isAckError, toRoomName } from '../protocol';

/** A small deterministic generator, so that a failure can be reproduced. */
function randomStrings(count: number, seed = 1): string[] {
  const pool = [
    'a',
    'Z',
    '7',
    ' ',
    '_',
    '.',
    '-',
    '/',
    ':',
    '\\',
    '#',
    '?',
    '%',
    '\n',
    '\t',
    '\u0000',
    'é',
    'Ü',
    '€',
    '\u{1F600}',
    '"',
    "'",
    '<',
    '>'
  ];
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = next() % 300;
    let s = '';
    for (let j = 0; j < length; j++) {
      s += pool[next() % pool.length];
    }
    out.push(s);
  }
  return out;
}

describe('isAckError', () => {
  it('recognises a refused acknowledgement', () => {
    expect(isAckError({ ok: false, error: { code: 'rate_limited', message: 'x' } })).toBe(true);
    expect(isAckError({ ok: false })).toBe(true);
  });

  it('does not take a successful acknowledgement or other values for one', () => {
    expect(isAckError({ ok: true })).toBe(false);
    expect(isAckError({ ok: true, error: { code: 'x', message: 'y' } })).toBe(false);
    expect(isAckError({})).toBe(false);
    expect(isAckError({ ok: 0 })).toBe(false);
    expect(isAckError({ ok: 'false' })).toBe(false);
    expect(isAckError(null)).toBe(false);
    expect(isAckError(undefined)).toBe(false);
    expect(isAckError(false)).toBe(false);
    expect(isAckError('error')).toBe(false);
    expect(isAckError(0)).toBe(false);
  });
});

describe('toRoomName', () => {
  it('keeps a valid name as it is', () => {
    expect(toRoomName('class-101')).toBe('class-101');
    expect(toRoomName('lectures/week 1/intro_v2.ipynb')).toBe('lectures/week 1/intro_v2.ipynb');
    expect(toRoomName('a:b.c-d_e/f g')).toBe('a:b.c-d_e/f g');
  });

  it("replaces each invalid character with '-'", () => {
    expect(toRoomName('Übung#1?.ipynb')).toBe('-bung-1-.ipynb');
    expect(toRoomName('a\\b')).toBe('a-b');
    expect(toRoomName('tab\there')).toBe('tab-here');
    expect(toRoomName('<script>')).toBe('-script-');
  });

  it("gives 'notebook' for an empty or blank name", () => {
    expect(toRoomName('')).toBe('notebook');
    expect(toRoomName('   ')).toBe('notebook');
  });

  it('trims surrounding spaces', () => {
    expect(toRoomName('  room 1  ')).toBe('room 1');
  });

  it('keeps the last 128 characters of a long path', () => {
    const path = 'x'.repeat(200) + '/course/notebooks/final-exam.ipynb';
    const name = toRoomName(path);
    expect(MAX_ROOM_NAME).toBe(128);
    expect(name).toHaveLength(128);
    expect(name).toBe(path.slice(-128));
    expect(name.endsWith('/course/notebooks/final-exam.ipynb')).toBe(true);
  });

  it('shortens after replacing invalid characters', () => {
    const path = 'ä'.repeat(130) + 'é.ipynb';
    const name = toRoomName(path);
    expect(name).toHaveLength(128);
    expect(name).toBe('-'.repeat(122) + '.ipynb');
  });

  it('keeps a name of exactly 128 characters', () => {
    const path = 'n'.repeat(128);
    expect(toRoomName(path)).toBe(path);
  });

  it('always returns a valid room name', () => {
    const inputs = [
      ...randomStrings(500),
      '\u{1F600}'.repeat(100),
      ' '.repeat(500) + 'x',
      'x' + ' '.repeat(500),
      '/'.repeat(1000)
    ];
    for (const input of inputs) {
      const name = toRoomName(input);
      if (!ROOM_NAME_RE.test(name)) {
        throw new Error(`toRoomName(${JSON.stringify(input)}) = ${JSON.stringify(name)}`);
      }
      expect(name.length).toBeLessThanOrEqual(MAX_ROOM_NAME);
    }
  });
});
