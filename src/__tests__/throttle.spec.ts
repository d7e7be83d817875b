/**
 * The presence send budget and the share switches.
 */
import { SharingSwitches, STORAGE_KEY } from '../presence/sharingSwitches';
import { Throttle } from '../presence/throttle';

describe('Throttle', () => {
  // Modern fake timers move Date.now() with the timers: one clock, as in a browser.
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  async function settle(): Promise<void> {
    await Promise.resolve();
    await Promise.resolve();
  }

  it('flushes at once within the budget, then at most maxPerSecond times a second', async () => {
    const flushes: number[] = [];
    const throttle: Throttle = new Throttle(
      () => {
        flushes.push(Date.now());
        throttle.noteEmit(Date.now());
        throttle.noteRound(1);
      },
      () => 20,
      () => Date.now()
    );
    throttle.schedule();
    await settle();
    expect(flushes).toEqual([1_000_000]);
    // A burst of requests for one second of typing: 1 per ms.
    for (let t = 1; t <= 1000; t++) {
      throttle.schedule();
      jest.advanceTimersByTime(1);
      await settle();
    }
    jest.advanceTimersByTime(100);
    await settle();
    expect(flushes.length).toBeGreaterThanOrEqual(20);
    expect(flushes.length).toBeLessThanOrEqual(22);
    for (let i = 1; i < flushes.length; i++) {
      expect(flushes[i] - flushes[i - 1]).toBeGreaterThanOrEqual(50);
    }
  });

  it('always sends the trailing update, and waits a budget per room of the last round', async () => {
    const flushes: number[] = [];
    const throttle: Throttle = new Throttle(
      () => {
        flushes.push(Date.now());
        throttle.noteEmit(Date.now());
        throttle.noteRound(3); // three rooms
      },
      () => 20,
      () => Date.now()
    );
    throttle.schedule();
    await settle();
    jest.advanceTimersByTime(10);
    throttle.schedule(); // due at +150 ms (3 x 50)
    throttle.schedule(); // coalesced
    jest.advanceTimersByTime(139);
    expect(flushes.length).toBe(1);
    jest.advanceTimersByTime(1);
    await settle();
    expect(flushes).toEqual([1_000_000, 1_000_150]);
  });

  it('flushes nothing once disposed', async () => {
    const flush = jest.fn();
    const throttle = new Throttle(
      flush,
      () => 20,
      () => Date.now()
    );
    throttle.noteEmit(Date.now());
    throttle.schedule();
    throttle.dispose();
    jest.advanceTimersByTime(1000);
    await settle();
    throttle.schedule();
    await settle();
    expect(flush).not.toHaveBeenCalled();
  });
});

describe('SharingSwitches', () => {
  it('shares by default, keeps rooms switched off in storage, survives a reload', () => {
    const switches = new SharingSwitches(window.sessionStorage);
    expect(switches.isSharing('r')).toBe(true);
    expect(switches.set('r', true)).toBe(false);
    expect(switches.set('r', false)).toBe(true);
    expect(JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) ?? '[]')).toEqual(['r']);
    expect(new SharingSwitches(window.sessionStorage).isSharing('r')).toBe(false);
    switches.set('r', true);
    expect(new SharingSwitches(window.sessionStorage).isSharing('r')).toBe(true);
  });

  it('works without storage, and ignores a corrupt entry', () => {
    const switches = new SharingSwitches(null);
    switches.set('r', false);
    expect(switches.isSharing('r')).toBe(false);
    window.sessionStorage.setItem(STORAGE_KEY, '{not json');
    expect(new SharingSwitches(window.sessionStorage).isSharing('r')).toBe(true);
    window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify([1, 'x']));
    expect(new SharingSwitches(window.sessionStorage).isSharing('x')).toBe(false);
  });
});
