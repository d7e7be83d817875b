/**
 * RoomLeases: a room's session is shared by its views and left a moment after the last one.
 */
import { LEAVE_GRACE, RoomLeases } from '../room/roomLeases';
import type { RoomSession } from '../room/roomSession';

function fakeSession(room: string): RoomSession & { left: number; disposed: number } {
  const s = {
    name: room,
    left: 0,
    disposed: 0,
    leave() {
      s.left++;
    },
    dispose() {
      s.disposed++;
    }
  };
  return s as unknown as RoomSession & { left: number; disposed: number };
}

describe('RoomLeases', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('shares one session per room and leaves after the grace of the last release', () => {
    const made: ReturnType<typeof fakeSession>[] = [];
    let changes = 0;
    const leases = new RoomLeases(
      room => {
        const s = fakeSession(room);
        made.push(s);
        return s;
      },
      () => changes++
    );
    const a = leases.acquire('r');
    const b = leases.acquire('r');
    expect(a.session).toBe(b.session);
    expect(made).toHaveLength(1);
    expect(changes).toBe(1);
    a.dispose();
    a.dispose();
    b.dispose();
    jest.advanceTimersByTime(LEAVE_GRACE - 1);
    // Re-running the cell: acquired again within the grace, the room stays joined.
    const c = leases.acquire('r');
    jest.advanceTimersByTime(LEAVE_GRACE);
    expect(made[0].left).toBe(0);
    expect(leases.all()).toEqual([made[0]]);
    c.dispose();
    jest.advanceTimersByTime(LEAVE_GRACE);
    expect(made[0]).toMatchObject({ left: 1, disposed: 1 });
    expect(leases.get('r')).toBeUndefined();
    expect(changes).toBe(2);
  });

  it('disposes every session with the connection', () => {
    const s = fakeSession('r');
    const leases = new RoomLeases(
      () => s,
      () => undefined
    );
    leases.acquire('r').dispose();
    leases.dispose();
    jest.advanceTimersByTime(LEAVE_GRACE);
    expect(s).toMatchObject({ left: 0, disposed: 1 });
  });
});
