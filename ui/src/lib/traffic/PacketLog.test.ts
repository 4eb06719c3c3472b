import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mount, unmount } from 'svelte';
import PacketLog from './PacketLog.svelte';
import { sessionSource, type PacketPage, type Platform } from '../platform';
import { reactiveProps, settle, type } from '../session/testing.svelte';

const page: PacketPage = { total: 0, rows: [] };

describe('PacketLog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reloads when a frame moves the packet count or a filter changes, not otherwise', async () => {
    const trafficPackets = vi.fn<Platform['trafficPackets']>(async () => page);
    const platform = { trafficPackets } as unknown as Platform;
    const props = reactiveProps({ platform, source: sessionSource('s1'), packets: 10 });
    const target = document.createElement('div');
    document.body.append(target);
    const log = mount(PacketLog, { target, props });
    await settle();
    expect(trafficPackets.mock.calls).toEqual([[{ kind: 'session', id: 's1' }, 200, '', null]]);

    // Frames that leave the count as it was (rates moving, another row on screen): no request.
    await vi.advanceTimersByTimeAsync(1000);
    props.packets = 10;
    await settle();
    await vi.advanceTimersByTimeAsync(1000);
    expect(trafficPackets).toHaveBeenCalledTimes(1);

    // A new count after a quiet spell: at once.
    props.packets = 11;
    await settle();
    expect(trafficPackets).toHaveBeenCalledTimes(2);

    // A burst of counts: at most one load per 250 ms, and one after the last count.
    const loadsBefore = trafficPackets.mock.calls.length;
    const loadedAt: number[] = [];
    trafficPackets.mockImplementation(async () => {
      loadedAt.push(Date.now());
      return page;
    });
    const start = Date.now();
    let lastCountAt = start;
    for (let n = 12; n < 34; n++) {
      props.packets = n;
      lastCountAt = Date.now();
      await settle();
      await vi.advanceTimersByTimeAsync(25);
    }
    await vi.advanceTimersByTimeAsync(1000);
    expect(loadedAt.map((t) => t - start)).toEqual([250, 500, 750]);
    expect(loadedAt.at(-1)!).toBeGreaterThanOrEqual(lastCountAt);
    expect(trafficPackets).toHaveBeenCalledTimes(loadsBefore + 3);
    expect(vi.getTimerCount()).toBe(0);

    // A filter is a reason to reload too.
    type(target.querySelector('select') as HTMLSelectElement, 'Publish');
    await settle();
    expect(trafficPackets.mock.calls.at(-1)).toEqual([
      { kind: 'session', id: 's1' },
      200,
      '',
      'Publish',
    ]);
    unmount(log);
    target.remove();
  });
});
