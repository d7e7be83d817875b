/**
 * The Room view's pure parts: member locations, the status line, message items.
 */
import type { IMessage, IPresenceEntry, IPresenceState } from '../protocol';
import type { IPendingMessage } from '../tokens';
import { avatar } from '../view/dom';
import { statusOf } from '../view/headerPane';
import { describeLocation, latestByUser } from '../view/locations';
import { messageItem, pendingItem, pendingStateText, updatePendingItem } from '../view/messageItem';

const here: IPresenceState = { path: 'lecture.ipynb', cell_index: 3, line: 11, mode: 'edit' };

describe('latestByUser', () => {
  it('keeps the newest state of each user over their tabs', () => {
    const entries: IPresenceEntry[] = [
      { session: 's1', user: 'ada', state: { line: 1 }, ts: 5 },
      { session: 's2', user: 'ada', state: { line: 2 }, ts: 9 },
      { session: 's3', user: 'ada', state: { line: 3 }, ts: 7 },
      { session: 's4', user: 'bob', state: { line: 4 }, ts: 1 }
    ];
    const latest = latestByUser(entries);
    expect(latest.get('ada')).toEqual({ state: { line: 2 }, ts: 9 });
    expect(latest.get('bob')?.state.line).toBe(4);
    expect(latest.size).toBe(2);
  });
});

describe('describeLocation', () => {
  const open = (): boolean => true;
  const closed = (): boolean => false;

  it('offers to go where another member is when that notebook is open here', () => {
    const line = describeLocation(false, true, here, open);
    expect(line).toMatchObject({
      text: 'lecture.ipynb · cell 4 · line 12',
      canJump: true,
      activity: '',
      title: 'Go to lecture.ipynb · cell 4 · line 12'
    });
  });

  it('says which notebook to open when it is not open here', () => {
    const line = describeLocation(false, true, here, closed);
    expect(line.canJump).toBe(false);
    expect(line.title).toBe('lecture.ipynb · cell 4 · line 12 (open lecture.ipynb to go there)');
  });

  it('never jumps to oneself, and says when one does not share', () => {
    expect(describeLocation(true, true, here, open)).toMatchObject({
      canJump: false,
      title: 'lecture.ipynb · cell 4 · line 12'
    });
    expect(describeLocation(true, false, { ...here, activity: 'idle' }, open)).toMatchObject({
      text: 'not sharing your cursor',
      activity: '',
      canJump: false
    });
  });

  it('shows idle and away, and nothing without a state', () => {
    expect(describeLocation(false, true, { activity: 'away' }, open)).toMatchObject({
      text: '',
      activity: 'away',
      canJump: true
    });
    expect(describeLocation(false, true, { ...here, activity: 'active' }, open).activity).toBe('');
    expect(describeLocation(false, true, null, open)).toMatchObject({
      text: '',
      activity: '',
      canJump: false
    });
  });

  it('gives equal keys to equal lines only', () => {
    const a = describeLocation(false, true, here, open);
    expect(describeLocation(false, true, { ...here }, open).key).toBe(a.key);
    expect(describeLocation(false, true, here, closed).key).not.toBe(a.key);
    expect(describeLocation(false, true, { ...here, line: 1 }, open).key).not.toBe(a.key);
  });
});

describe('statusOf', () => {
  const conn = { state: 'connected' as const, transport: 'websocket', rtt: 12 };
  const joined = { joined: true, joinError: null };

  it('shows transport and round trip when connected and joined', () => {
    expect(statusOf(conn, joined)).toEqual({
      state: 'connected',
      text: 'connected · websocket · 12 ms'
    });
    expect(statusOf({ ...conn, rtt: null }, null).text).toBe('connected · websocket');
    expect(statusOf(conn, { joined: false, joinError: null }).text).toBe('joining · websocket');
  });

  it('shows a refused join as an error, and the other states', () => {
    const refused = { joined: false, joinError: { code: 'invalid_room', message: 'bad name' } };
    expect(statusOf(conn, refused)).toEqual({ state: 'error', text: 'invalid_room: bad name' });
    expect(statusOf({ ...conn, state: 'offline' }, joined).text).toBe('offline');
    expect(statusOf({ ...conn, state: 'reconnecting' }, joined)).toEqual({
      state: 'reconnecting',
      text: 'reconnecting…'
    });
  });

  it('tells a lost class service apart from a lost connection', () => {
    expect(statusOf({ ...conn, serviceState: 'reconnecting' }, joined)).toEqual({
      state: 'service-reconnecting',
      text: 'class service unreachable · reconnecting…'
    });
    expect(statusOf({ ...conn, serviceState: 'connected' }, joined).state).toBe('connected');
    // the tab's own connection going is what shows first
    expect(
      statusOf({ ...conn, state: 'reconnecting', serviceState: 'reconnecting' }, joined).state
    ).toBe('reconnecting');
  });
});

describe('message items', () => {
  const user = {
    username: 'eve',
    name: 'Eve',
    display_name: '<img src=x onerror=alert(1)>',
    initials: 'E',
    avatar_url: 'javascript:alert(1)',
    color: 'red; background: url(x)'
  };
  const msg: IMessage = {
    room: 'r',
    seq: 7,
    client_id: 'c-7',
    user,
    text: '<script>window.pwned = 1</script>',
    ts: Date.now()
  };

  it('renders user text as text, never as HTML', () => {
    const li = messageItem(msg, false);
    expect(li.querySelector('script')).toBeNull();
    expect(li.querySelector('img')).toBeNull();
    expect(li.querySelector('[data-testid=message-text]')?.textContent).toBe(msg.text);
    expect(li.querySelector('.jp-CollabRoom-author')?.textContent).toBe(user.display_name);
    expect(li.dataset.seq).toBe('7');
    expect(li.classList.contains('jp-mod-own')).toBe(false);
    expect(messageItem(msg, true).querySelector('.jp-CollabRoom-you')?.textContent).toBe('(you)');
  });

  it('shows a pending message, then its refusal with retry and discard', () => {
    const pending: IPendingMessage = {
      client_id: 'c-1',
      text: 'hi',
      ts: Date.now(),
      status: 'sending',
      error: null
    };
    const li = pendingItem(pending, null);
    updatePendingItem(li, pending);
    expect(li.querySelector('[data-testid=pending-state]')?.textContent).toBe('sending…');
    expect(li.querySelector('.jp-CollabRoom-author')?.textContent).toBe('You');
    const error = { code: 'rate_limited', message: 'slow down', retry_after: 2 };
    updatePendingItem(li, { ...pending, status: 'failed', error });
    expect(li.classList.contains('jp-mod-failed')).toBe(true);
    expect(li.querySelector('[data-testid=send-error]')?.textContent).toContain(
      'rate_limited: slow down (retry after 2s)'
    );
    expect(li.querySelector('[data-action=retry]')).not.toBeNull();
    expect(li.querySelector('[data-action=discard]')).not.toBeNull();
    updatePendingItem(li, { ...pending, status: 'queued' });
    expect(li.querySelector('[data-testid=send-error]')).toBeNull();
    expect(pendingStateText('queued')).toBe('waiting for connection…');
    expect(pendingStateText('failed')).toBe('not sent');
  });
});

describe('avatar', () => {
  const user = {
    username: 'ada',
    name: 'Ada Lovelace',
    display_name: 'Ada Lovelace',
    initials: 'AL',
    avatar_url: null,
    color: '#e6194b'
  };

  it('loads an https avatar without sending the page as referrer', () => {
    const badge = avatar({ ...user, avatar_url: 'https://example.org/ada.png' });
    const img = badge.querySelector('img');
    expect(img?.getAttribute('src')).toBe('https://example.org/ada.png');
    expect(img?.getAttribute('referrerpolicy')).toBe('no-referrer');
    expect(img?.getAttribute('alt')).toBe('');
  });

  it('shows initials instead of an unsafe or relative avatar URL', () => {
    for (const url of ['javascript:alert(1)', 'data:image/png;base64,AAAA', '/api/me', 'x']) {
      const badge = avatar({ ...user, avatar_url: url });
      expect(badge.querySelector('img')).toBeNull();
      expect(badge.textContent).toBe('AL');
    }
  });

  it('uses only a #rgb/#rrggbb colour', () => {
    expect(avatar(user).style.backgroundColor).toBe('rgb(230, 25, 75)');
    for (const color of ['red;background-image:url(x)', 'teal', 'rgb(1, 2, 3)']) {
      const badge = avatar({ ...user, color });
      expect(badge.style.backgroundColor).toBe('');
      expect(badge.getAttribute('style') ?? '').not.toContain('url(');
    }
  });
});
