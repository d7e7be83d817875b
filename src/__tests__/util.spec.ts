import { MAX_AVATAR_URL, MAX_CLIENT_ID } from '../limits';
import {
  displayName,
  formatClock,
  formatMessageTime,
  getCookie,
  initialsOf,
  newClientId,
  safeAvatarUrl,
  safeColor,
  socketEndpoint
} from '../util';

describe('getCookie', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  function withCookies(cookie: string): void {
    jest.spyOn(document, 'cookie', 'get').mockReturnValue(cookie);
  }

  it('reads a cookie set in the document', () => {
    document.cookie = 'collab_test=abc123';
    expect(getCookie('collab_test')).toBe('abc123');
  });

  it('returns the value of the named cookie', () => {
    withCookies('a=1; _xsrf=2|abc|def; b=3');
    expect(getCookie('_xsrf')).toBe('2|abc|def');
    expect(getCookie('a')).toBe('1');
    expect(getCookie('b')).toBe('3');
  });

  it('takes the last of duplicate cookies', () => {
    withCookies('_xsrf=first; other=x; _xsrf=second');
    expect(getCookie('_xsrf')).toBe('second');
    withCookies('_xsrf=first;_xsrf=second;_xsrf=third');
    expect(getCookie('_xsrf')).toBe('third');
  });

  it('matches the whole name only', () => {
    withCookies('my_xsrf=bad; _xsrf_old=bad; _xsrfx=bad');
    expect(getCookie('_xsrf')).toBeUndefined();
  });

  it('keeps "=" inside the value', () => {
    withCookies('token=a=b==');
    expect(getCookie('token')).toBe('a=b==');
  });

  it('returns undefined without the cookie, or when cookies cannot be read', () => {
    withCookies('');
    expect(getCookie('_xsrf')).toBeUndefined();
    withCookies('a=1');
    expect(getCookie('_xsrf')).toBeUndefined();
    jest.spyOn(document, 'cookie', 'get').mockImplementation(() => {
      throw new Error('SecurityError');
    });
    expect(getCookie('_xsrf')).toBeUndefined();
  });
});

describe('newClientId', () => {
  it('is 1-64 printable characters', () => {
    for (let i = 0; i < 100; i++) {
      const id = newClientId();
      expect(id.length).toBeGreaterThanOrEqual(1);
      expect(id.length).toBeLessThanOrEqual(MAX_CLIENT_ID);
      expect(id).toMatch(/^[\x21-\x7e]+$/);
    }
    expect(MAX_CLIENT_ID).toBe(64);
  });

  it('is unique', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10000; i++) {
      ids.add(newClientId());
    }
    expect(ids.size).toBe(10000);
  });
});

describe('formatClock', () => {
  it('gives HH:MM:SS in local time with leading zeros', () => {
    expect(formatClock(new Date(2024, 0, 5, 7, 3, 9).getTime())).toBe('07:03:09');
    expect(formatClock(new Date(2024, 0, 5, 0, 0, 0).getTime())).toBe('00:00:00');
    expect(formatClock(new Date(2024, 11, 31, 23, 59, 59, 999).getTime())).toBe('23:59:59');
    expect(formatClock(new Date(2024, 5, 1, 12, 30, 45).getTime())).toBe('12:30:45');
  });
});

describe('formatMessageTime', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date(2024, 4, 17, 15, 0, 0) });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('gives HH:MM for a message of today', () => {
    expect(formatMessageTime(new Date(2024, 4, 17, 9, 5, 30).getTime())).toBe('09:05');
    expect(formatMessageTime(new Date(2024, 4, 17, 0, 0, 0).getTime())).toBe('00:00');
    expect(formatMessageTime(new Date(2024, 4, 17, 23, 59, 0).getTime())).toBe('23:59');
  });

  it('adds the date for a message of another day', () => {
    expect(formatMessageTime(new Date(2024, 4, 16, 23, 59, 0).getTime())).toBe('2024-05-16 23:59');
    expect(formatMessageTime(new Date(2024, 4, 18, 8, 0, 0).getTime())).toBe('2024-05-18 08:00');
  });

  it('adds the date for the same day of another month or year', () => {
    expect(formatMessageTime(new Date(2023, 4, 17, 9, 5, 0).getTime())).toBe('2023-05-17 09:05');
    expect(formatMessageTime(new Date(2024, 3, 17, 9, 5, 0).getTime())).toBe('2024-04-17 09:05');
  });
});

describe('displayName', () => {
  it('prefers display_name, then name, then username', () => {
    expect(displayName({ display_name: 'Ada L.', name: 'Ada', username: 'ada' })).toBe('Ada L.');
    expect(displayName({ display_name: '', name: 'Ada', username: 'ada' })).toBe('Ada');
    expect(displayName({ display_name: null, name: null, username: 'ada' })).toBe('ada');
    expect(displayName({ username: 'ada' })).toBe('ada');
  });
});

describe('initialsOf', () => {
  it('uses the given initials, at most three characters', () => {
    expect(initialsOf({ initials: 'AL', username: 'ada' })).toBe('AL');
    expect(initialsOf({ initials: 'ABCDE', username: 'ada' })).toBe('ABC');
  });

  it('takes the first letters of the first two words of the name', () => {
    expect(
      initialsOf({
        initials: null,
        display_name: 'Anonymous Io',
        username: 'x'
      })
    ).toBe('AI');
    expect(initialsOf({ display_name: 'ada king lovelace', username: 'x' })).toBe('AK');
    expect(initialsOf({ display_name: '  grace   hopper ', username: 'x' })).toBe('GH');
    expect(initialsOf({ display_name: 'élise', username: 'x' })).toBe('É');
  });

  it('falls back to name and username', () => {
    expect(initialsOf({ initials: '', name: 'Alan Turing', username: 'x' })).toBe('AT');
    expect(initialsOf({ username: 'bob' })).toBe('B');
  });
});

describe('safeAvatarUrl', () => {
  it('accepts absolute http and https URLs', () => {
    expect(safeAvatarUrl('https://example.org/avatar.png')).toBe('https://example.org/avatar.png');
    expect(safeAvatarUrl('http://example.org/a?s=64')).toBe('http://example.org/a?s=64');
    expect(safeAvatarUrl('https://[::1]:8443/a.png')).toBe('https://[::1]:8443/a.png');
  });

  it('refuses relative URLs (nothing is resolved against the page)', () => {
    expect(safeAvatarUrl('/avatars/ada.png')).toBeNull();
    expect(safeAvatarUrl('avatars/ada.png')).toBeNull();
    expect(safeAvatarUrl('//example.org/a.png')).toBeNull();
    expect(safeAvatarUrl('../api/me')).toBeNull();
  });

  it('refuses javascript:, data: and every other scheme', () => {
    expect(safeAvatarUrl('javascript:alert(1)')).toBeNull();
    expect(safeAvatarUrl('  JavaScript:alert(document.cookie)')).toBeNull();
    expect(safeAvatarUrl('java\tscript:alert(1)')).toBeNull();
    expect(safeAvatarUrl('vbscript:msgbox(1)')).toBeNull();
    expect(safeAvatarUrl('data:text/html,<script>alert(1)</script>')).toBeNull();
    expect(safeAvatarUrl('data:image/png;base64,iVBORw0KGgo=')).toBeNull();
    expect(safeAvatarUrl('blob:https://example.org/1234')).toBeNull();
    expect(safeAvatarUrl('file:///etc/passwd')).toBeNull();
    expect(safeAvatarUrl('ftp://example.org/a.png')).toBeNull();
  });

  it('refuses credentials in the URL and over-long URLs', () => {
    expect(safeAvatarUrl('https://user:pw@example.org/a.png')).toBeNull();
    const base = 'https://example.org/';
    const longest = base + 'a'.repeat(MAX_AVATAR_URL - base.length);
    expect(safeAvatarUrl(longest)).toBe(longest);
    expect(safeAvatarUrl(longest + 'a')).toBeNull();
  });

  it('returns null without a URL or for an unparsable one', () => {
    expect(safeAvatarUrl('http://[::1')).toBeNull();
    expect(safeAvatarUrl('https://')).toBeNull();
    expect(safeAvatarUrl(null)).toBeNull();
    expect(safeAvatarUrl(undefined)).toBeNull();
    expect(safeAvatarUrl('')).toBeNull();
  });
});

describe('safeColor', () => {
  it('accepts #rgb and #rrggbb', () => {
    for (const color of ['#fff', '#FFF', '#e6194b', '#E6194B', '#000000']) {
      expect(safeColor(color)).toBe(color);
    }
  });

  it('refuses everything else, CSS injection included', () => {
    for (const color of [
      'red; background:url(x)',
      'red;background-image:url(x)',
      'url(https://example.org/x)',
      'expression(alert(1))',
      'var(--jp-brand-color1)',
      '#fff; color: red',
      '#fff;',
      ' #fff',
      '#fff ',
      '#fff\n',
      'rgb(1, 2, 3)',
      'rgba(230, 25, 75, 0.5)',
      'hsl(120, 50%, 50%)',
      'red',
      'rebeccapurple',
      '#e6194b80',
      '#abcd',
      '#12',
      '#1234567',
      '#ggg',
      'fff',
      'red}body{display:none'
    ]) {
      expect(safeColor(color)).toBeNull();
    }
  });

  it('returns null without a colour', () => {
    expect(safeColor(null)).toBeNull();
    expect(safeColor(undefined)).toBeNull();
    expect(safeColor('')).toBeNull();
  });
});

describe('socketEndpoint', () => {
  it('puts the Socket.IO path under the base URL, as an option, not in the URL', () => {
    expect(socketEndpoint('http://h:8888/user/alice/')).toEqual({
      origin: 'http://h:8888',
      path: '/user/alice/collab/socket.io/'
    });
    expect(socketEndpoint('http://h:8888/jp').path).toBe('/jp/collab/socket.io/');
    expect(socketEndpoint('http://h:8888/').path).toBe('/collab/socket.io/');
  });
});
