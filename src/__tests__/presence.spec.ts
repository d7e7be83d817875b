import { MAX_PRESENCE_CELL_ID, MAX_PRESENCE_PATH, MAX_PRESENCE_SELECTIONS } from '../limits';
import {
  basename,
  clampPosition,
  clampToText,
  DARK_TEXT,
  formatLocation,
  LIGHT_TEXT,
  memberColor,
  sameState,
  sanitizeState,
  textColorOn,
  withAlpha
} from '../presence/state';
import { IPresenceState, ISelectionRange } from '../protocol';

function selection(line: number, from: number, to: number): ISelectionRange {
  return { anchor: { line, column: from }, head: { line, column: to } };
}

const FULL_STATE: IPresenceState = {
  path: 'lectures/intro.ipynb',
  cell_id: 'a1b2c3',
  cell_index: 3,
  line: 11,
  column: 4,
  selections: [selection(11, 0, 4), selection(12, 2, 1)],
  mode: 'edit',
  activity: 'active'
};

describe('sanitizeState', () => {
  it('keeps a well-formed state', () => {
    expect(sanitizeState(FULL_STATE)).toEqual(FULL_STATE);
    expect(sanitizeState({ path: 'a.ipynb', mode: 'command', activity: 'away' })).toEqual({
      path: 'a.ipynb',
      mode: 'command',
      activity: 'away'
    });
    expect(sanitizeState({ activity: 'idle' })).toEqual({ activity: 'idle' });
  });

  it('gives an empty state for anything but an object', () => {
    for (const raw of [null, undefined, 'state', 42, true]) {
      expect(sanitizeState(raw)).toEqual({});
    }
  });

  it('drops malformed fields and keeps the others', () => {
    const state = sanitizeState({
      path: 42,
      cell_id: { id: 'x' },
      cell_index: -1,
      line: 1.5,
      column: '3',
      selections: 'all',
      mode: 'insert',
      activity: 'asleep'
    });
    expect(state).toEqual({});

    expect(
      sanitizeState({
        path: 'a.ipynb',
        cell_index: NaN,
        line: Infinity,
        column: 2,
        mode: null
      })
    ).toEqual({ path: 'a.ipynb', column: 2 });
  });

  it('drops unknown fields, also inside positions', () => {
    const state = sanitizeState({
      path: 'a.ipynb',
      html: '<img src=x onerror=alert(1)>',
      selections: [
        {
          anchor: { line: 1, column: 2, extra: true },
          head: { line: 1, column: 5 },
          color: 'red'
        }
      ]
    });
    expect(state).toEqual({
      path: 'a.ipynb',
      selections: [selection(1, 2, 5)]
    });
    expect(Object.keys(state.selections![0].anchor)).toEqual(['line', 'column']);
  });

  it('drops malformed selections', () => {
    const state = sanitizeState({
      selections: [
        null,
        'x',
        { anchor: { line: 0, column: 0 } },
        { anchor: { line: -1, column: 0 }, head: { line: 0, column: 1 } },
        { anchor: { line: 0, column: 0 }, head: { line: 0, column: 0.5 } },
        { anchor: { line: 2, column: 0 }, head: { line: 2, column: 3 } }
      ]
    });
    expect(state).toEqual({ selections: [selection(2, 0, 3)] });
    expect(sanitizeState({ selections: [null, {}] })).toEqual({});
    expect(sanitizeState({ selections: [] })).toEqual({});
  });

  it('keeps at most 16 selections', () => {
    const many = Array.from({ length: 40 }, (_, i) => selection(i, 0, 1));
    const state = sanitizeState({ selections: many });
    expect(MAX_PRESENCE_SELECTIONS).toBe(16);
    expect(state.selections).toHaveLength(16);
    expect(state.selections).toEqual(many.slice(0, 16));
  });

  it('rejects an over-long path or cell id', () => {
    const path = 'p'.repeat(MAX_PRESENCE_PATH);
    const cellId = 'c'.repeat(MAX_PRESENCE_CELL_ID);
    expect(sanitizeState({ path, cell_id: cellId })).toEqual({
      path,
      cell_id: cellId
    });
    expect(sanitizeState({ path: path + 'p', cell_id: cellId + 'c', line: 1 })).toEqual({
      line: 1
    });
  });

  it('builds equal states with the same key order', () => {
    const a = sanitizeState({ line: 1, path: 'a.ipynb', cell_index: 0 });
    const b = sanitizeState({ cell_index: 0, path: 'a.ipynb', line: 1 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});

describe('sameState', () => {
  it('compares by content', () => {
    expect(sameState(null, null)).toBe(true);
    expect(sameState({}, {})).toBe(true);
    expect(sameState({ ...FULL_STATE }, { ...FULL_STATE })).toBe(true);
  });

  it('sees every difference', () => {
    expect(sameState(null, {})).toBe(false);
    expect(sameState({}, null)).toBe(false);
    expect(sameState(FULL_STATE, { ...FULL_STATE, line: 12 })).toBe(false);
    expect(sameState(FULL_STATE, { ...FULL_STATE, mode: 'command' })).toBe(false);
    expect(
      sameState(FULL_STATE, {
        ...FULL_STATE,
        selections: [selection(11, 0, 4)]
      })
    ).toBe(false);
    expect(sameState({ path: 'a' }, { path: 'a', line: 0 })).toBe(false);
  });

  it('treats sanitized states with the same fields as equal', () => {
    expect(
      sameState(
        sanitizeState({ column: 2, line: 1, path: 'a.ipynb' }),
        sanitizeState({ path: 'a.ipynb', line: 1, column: 2, junk: 1 })
      )
    ).toBe(true);
  });
});

describe('clampToText', () => {
  const text = 'ab\ncdef\n\nxyz';

  it('keeps a position inside the text', () => {
    expect(clampToText(text, { line: 0, column: 1 })).toEqual({
      line: 0,
      column: 1
    });
    expect(clampToText(text, { line: 1, column: 4 })).toEqual({
      line: 1,
      column: 4
    });
    expect(clampToText(text, { line: 3, column: 0 })).toEqual({
      line: 3,
      column: 0
    });
  });

  it('moves a line beyond the text to the last line', () => {
    expect(clampToText(text, { line: 10, column: 1 })).toEqual({
      line: 3,
      column: 1
    });
    expect(clampToText(text, { line: 4, column: 99 })).toEqual({
      line: 3,
      column: 3
    });
  });

  it("moves a column beyond the line to the line's end", () => {
    expect(clampToText(text, { line: 0, column: 3 })).toEqual({
      line: 0,
      column: 2
    });
    expect(clampToText(text, { line: 1, column: 1000 })).toEqual({
      line: 1,
      column: 4
    });
    expect(clampToText(text, { line: 2, column: 5 })).toEqual({
      line: 2,
      column: 0
    });
  });

  it('clamps to the start of an empty text', () => {
    expect(clampToText('', { line: 0, column: 0 })).toEqual({
      line: 0,
      column: 0
    });
    expect(clampToText('', { line: 5, column: 7 })).toEqual({
      line: 0,
      column: 0
    });
  });

  it('counts a trailing newline as an empty last line', () => {
    expect(clampToText('ab\n', { line: 9, column: 9 })).toEqual({
      line: 1,
      column: 0
    });
  });

  it('handles negative, fractional and non-finite input', () => {
    expect(clampToText(text, { line: -1, column: -5 })).toEqual({
      line: 0,
      column: 0
    });
    expect(clampToText(text, { line: 1.9, column: 2.7 })).toEqual({
      line: 1,
      column: 2
    });
    expect(clampToText(text, { line: NaN, column: NaN })).toEqual({
      line: 0,
      column: 0
    });
    expect(clampToText(text, { line: Infinity, column: Infinity })).toEqual({
      line: 3,
      column: 3
    });
  });
});

describe('clampPosition', () => {
  it('asks only for the lengths of existing lines', () => {
    const lengths = [5, 0, 12];
    const lineLength = jest.fn((i: number) => {
      if (i < 0 || i >= lengths.length || !Number.isInteger(i)) {
        throw new Error(`no line ${i}`);
      }
      return lengths[i];
    });
    for (const pos of [
      { line: -3, column: 1 },
      { line: 0, column: 9 },
      { line: 1, column: 1 },
      { line: 2.5, column: 20 },
      { line: 3, column: 4 },
      { line: 1e9, column: 1e9 }
    ]) {
      const clamped = clampPosition(pos, lengths.length, lineLength);
      expect(clamped.line).toBeGreaterThanOrEqual(0);
      expect(clamped.line).toBeLessThan(lengths.length);
      expect(clamped.column).toBeGreaterThanOrEqual(0);
      expect(clamped.column).toBeLessThanOrEqual(lengths[clamped.line]);
    }
    expect(lineLength).toHaveBeenCalled();
    expect(clampPosition({ line: 3, column: 4 }, 3, lineLength)).toEqual({
      line: 2,
      column: 4
    });
    expect(clampPosition({ line: 0, column: 9 }, 3, lineLength)).toEqual({
      line: 0,
      column: 5
    });
  });

  it('stays at 0:0 for an empty document or a bad line length', () => {
    expect(clampPosition({ line: 4, column: 2 }, 0, () => 0)).toEqual({
      line: 0,
      column: 0
    });
    expect(clampPosition({ line: 0, column: 2 }, 1, () => -1)).toEqual({
      line: 0,
      column: 0
    });
  });
});

describe('textColorOn', () => {
  it('puts white text on dark colours', () => {
    for (const color of ['#000000', '#000', '#1a1a1a', '#4363d8', '#e6194b']) {
      expect(textColorOn(color)).toBe(LIGHT_TEXT);
    }
  });

  it('puts dark text on light colours', () => {
    for (const color of [
      '#ffffff',
      '#fff',
      '#ffe119',
      '#FFE119',
      '#ffe11980',
      '#bfef45',
      '#42d4f4'
    ]) {
      expect(textColorOn(color)).toBe(DARK_TEXT);
    }
  });

  it('switches from white to dark only once along the greys', () => {
    const results = Array.from({ length: 256 }, (_, v) => {
      const hex = v.toString(16).padStart(2, '0');
      return textColorOn(`#${hex}${hex}${hex}`);
    });
    const firstDark = results.indexOf(DARK_TEXT);
    expect(firstDark).toBeGreaterThan(0);
    expect(results.slice(0, firstDark).every(c => c === LIGHT_TEXT)).toBe(true);
    expect(results.slice(firstDark).every(c => c === DARK_TEXT)).toBe(true);
  });

  it('gives white for a missing or invalid colour', () => {
    for (const color of [null, undefined, '', '#fffffff', '#ggg', 'ffffff', 'not a colour']) {
      expect(textColorOn(color)).toBe(LIGHT_TEXT);
    }
    expect(LIGHT_TEXT.toLowerCase()).toBe('#ffffff');
  });
});

describe('withAlpha', () => {
  it('turns a hex colour into rgba()', () => {
    expect(withAlpha('#ff0000', 0.25)).toBe('rgba(255, 0, 0, 0.25)');
    expect(withAlpha('#0f0', 0.5)).toBe('rgba(0, 255, 0, 0.5)');
    expect(withAlpha('#4363D8', 1)).toBe('rgba(67, 99, 216, 1)');
  });

  it("replaces a hex colour's own alpha", () => {
    expect(withAlpha('#4363d8cc', 0.3)).toBe('rgba(67, 99, 216, 0.3)');
  });

  it('mixes other colours with transparent', () => {
    expect(withAlpha('red', 0.2)).toBe('color-mix(in srgb, red 20%, transparent)');
    expect(withAlpha('rgb(1, 2, 3)', 0.333)).toBe(
      'color-mix(in srgb, rgb(1, 2, 3) 33%, transparent)'
    );
  });
});

describe('memberColor', () => {
  const fallback = memberColor(null);

  it("uses the server's colour when it is #rgb or #rrggbb", () => {
    expect(memberColor('#e6194b')).toBe('#e6194b');
    expect(memberColor('#abc')).toBe('#abc');
  });

  it('falls back to a fixed hex colour otherwise', () => {
    expect(fallback).toMatch(/^#[0-9a-f]{6}$/i);
    expect(memberColor(undefined)).toBe(fallback);
    expect(memberColor('')).toBe(fallback);
    expect(memberColor('red; background:url(x)')).toBe(fallback);
    expect(memberColor('url(x)')).toBe(fallback);
    expect(memberColor('rgb(1, 2, 3)')).toBe(fallback);
    expect(memberColor('teal')).toBe(fallback);
  });
});

describe('basename', () => {
  it('gives the last part of a path', () => {
    expect(basename('lectures/week1/intro.ipynb')).toBe('intro.ipynb');
    expect(basename('/abs/path/a.ipynb')).toBe('a.ipynb');
    expect(basename('a.ipynb')).toBe('a.ipynb');
    expect(basename('')).toBe('');
  });
});

describe('formatLocation', () => {
  it('names path, cell and line, 1-based', () => {
    expect(formatLocation({ path: 'a.ipynb', cell_index: 3, line: 11, mode: 'edit' })).toBe(
      'a.ipynb · cell 4 · line 12'
    );
    expect(formatLocation({ path: 'a.ipynb', cell_index: 0, line: 0 })).toBe(
      'a.ipynb · cell 1 · line 1'
    );
  });

  it('leaves out the line in command mode', () => {
    expect(
      formatLocation({
        path: 'a.ipynb',
        cell_index: 3,
        line: 11,
        mode: 'command'
      })
    ).toBe('a.ipynb · cell 4');
  });

  it('leaves out what is not known', () => {
    expect(formatLocation({ path: 'a.ipynb' })).toBe('a.ipynb');
    expect(formatLocation({ path: 'a.ipynb', cell_index: 1 })).toBe('a.ipynb · cell 2');
    expect(formatLocation({ path: 'a.ipynb', line: 4 })).toBe('a.ipynb · line 5');
  });

  it('is empty without a path', () => {
    expect(formatLocation({})).toBe('');
    expect(formatLocation({ path: '' })).toBe('');
    expect(formatLocation({ cell_index: 3, line: 11, mode: 'edit' })).toBe('');
  });
});

describe('clampToText: a position from a longer remote copy of a cell', () => {
  it('clamps as the carets in a shorter local copy are drawn', () => {
    expect(clampToText('a = 1', { line: 4, column: 5 })).toEqual({ line: 0, column: 5 });
    expect(clampToText('ab\ncdef', { line: 0, column: 9 })).toEqual({ line: 0, column: 2 });
    expect(clampToText('ab\ncdef', { line: 7, column: 1 })).toEqual({ line: 1, column: 1 });
    expect(clampToText('', { line: 3, column: 3 })).toEqual({ line: 0, column: 0 });
  });
});
