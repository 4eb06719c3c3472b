import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mount, unmount } from 'svelte';
import LiveMap from './LiveMap.svelte';
import type { RoutedPage, Teach } from '../platform/teach';
import { reactiveProps, settle } from '../session/testing.svelte';

describe('LiveMap', () => {
  let frames: FrameRequestCallback[] = [];
  beforeEach(() => {
    frames = [];
    vi.useFakeTimers();
    vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) => frames.push(cb));
    vi.stubGlobal('cancelAnimationFrame', () => {});
    HTMLCanvasElement.prototype.getContext = (() => null) as never;
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('animates only while a message moves, and asks only when a frame says traffic moved', async () => {
    let latest = 5;
    let pending: RoutedPage['messages'] = [];
    const routed = vi.fn<Teach['routed']>(async () => {
      const page = { messages: pending, latest, skipped: 0 };
      pending = [];
      return page;
    });
    const teach = { routed } as unknown as Teach;
    const props = reactiveProps({ teach, packets: 1, clients: [] });
    const target = document.createElement('div');
    document.body.append(target);
    const map = mount(LiveMap, { target, props });
    await settle();
    expect(routed).toHaveBeenCalledTimes(1); // where "now" is
    expect(frames).toHaveLength(0);

    // Idle: time passes, nothing is asked and nothing is drawn.
    await vi.advanceTimersByTimeAsync(5000);
    expect(routed).toHaveBeenCalledTimes(1);
    expect(frames).toHaveLength(0);

    // A frame says traffic moved: one message arrives and a dot starts.
    latest = 6;
    pending = [
      {
        serial: 6, timeMs: 0, topic: 'a', qos: 1, retain: false, payloadLen: 1, origin: 'Client',
        publisher: 'p', receivers: [{ clientId: 's', qos: 1, sent: true }], more: 0,
      },
    ];
    props.packets = 2;
    await settle();
    expect(routed).toHaveBeenLastCalledWith(5, 48);
    expect(frames.length).toBeGreaterThan(0);
    // Run frames until the dot and its pulses are done: then no more frames are asked for.
    let time = 0;
    for (let i = 0; i < 200 && frames.length > 0; i++) {
      const next = frames.shift() as FrameRequestCallback;
      time += 50;
      vi.setSystemTime(time);
      next(time);
    }
    expect(frames).toHaveLength(0);
    unmount(map);
    target.remove();
  });
});
