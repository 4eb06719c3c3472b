import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { throttle } from './throttle';

describe('throttle', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs at once after a quiet spell, then at most once per interval, and once at the end', () => {
    const runs: number[] = [];
    const start = Date.now();
    const paced = throttle(() => runs.push(Date.now() - start), 1000);
    paced.request();
    expect(runs).toEqual([0]);
    for (let t = 100; t <= 2500; t += 100) {
      vi.advanceTimersByTime(100);
      paced.request();
    }
    vi.advanceTimersByTime(5000);
    expect(runs).toEqual([0, 1000, 2000, 3000]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('follows a slow run with one more when asked meanwhile', async () => {
    let finish: () => void = () => {};
    let runs = 0;
    const paced = throttle(() => {
      runs += 1;
      return new Promise<void>((resolve) => (finish = resolve));
    }, 100);
    paced.request();
    vi.advanceTimersByTime(500);
    paced.request();
    paced.request();
    expect(runs).toBe(1);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(2);
  });

  it('drops what is owed when cancelled', () => {
    let runs = 0;
    const paced = throttle(() => (runs += 1), 1000);
    paced.request();
    paced.request();
    paced.cancel();
    vi.advanceTimersByTime(5000);
    paced.request();
    expect(runs).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
