import { describe, expect, it } from 'vitest';
import { setLocale } from '../i18n/index.svelte';
import {
  clockTime,
  describeState,
  describeSubscriptionStatus,
  isRunning,
  secondsUntil,
} from './state';

// Built from local parts so the expected clock text holds in any time zone.
const since = new Date(2024, 0, 2, 9, 5, 7).getTime();

describe('describeState', () => {
  it('says disconnected and connecting with the attempt', () => {
    expect(describeState({ state: 'Disconnected' }, 0)).toBe('Disconnected');
    expect(describeState({ state: 'Connecting', attempt: 3 }, 0)).toBe('Connecting (attempt 3)');
  });

  it('says since when it is connected, and whether the session was resumed', () => {
    expect(describeState({ state: 'Connected', since, resumed: false }, since + 5000)).toBe(
      'Connected since 09:05:07',
    );
    expect(describeState({ state: 'Connected', since, resumed: true }, since)).toBe(
      'Connected since 09:05:07 · session resumed',
    );
  });

  it('counts down to the next attempt in whole seconds, rounding up, never below 0', () => {
    const reconnecting = (at: number) =>
      ({
        state: 'Reconnecting',
        at,
        attempt: 2,
        code: 'Unreachable',
        reason: 'connection refused',
      }) as const;
    expect(describeState(reconnecting(10_000), 0)).toBe(
      'Reconnecting in 10 s (attempt 2) — connection refused',
    );
    expect(describeState(reconnecting(10_000), 1)).toBe(
      'Reconnecting in 10 s (attempt 2) — connection refused',
    );
    expect(describeState(reconnecting(10_000), 9_001)).toBe(
      'Reconnecting in 1 s (attempt 2) — connection refused',
    );
    expect(describeState(reconnecting(10_000), 10_000)).toBe(
      'Reconnecting in 0 s (attempt 2) — connection refused',
    );
    expect(describeState(reconnecting(10_000), 60_000)).toBe(
      'Reconnecting in 0 s (attempt 2) — connection refused',
    );
  });

  it('gives the reason of a failure', () => {
    expect(
      describeState({ state: 'Failed', code: 'AuthFailed', reason: 'bad username or password' }, 0),
    ).toBe('Failed — bad username or password');
  });

  it('follows the language', () => {
    setLocale('zh-CN');
    try {
      expect(describeState({ state: 'Connecting', attempt: 1 }, 0)).toBe('正在连接（第 1 次尝试）');
    } finally {
      setLocale('en');
    }
  });
});

describe('state helpers', () => {
  it('formats clock times and seconds left', () => {
    expect(clockTime(new Date(2024, 5, 1, 23, 59, 0).getTime())).toBe('23:59:00');
    expect(secondsUntil(2500, 0)).toBe(3);
    expect(secondsUntil(0, 2500)).toBe(0);
  });

  it('knows when Disconnect has a meaning', () => {
    expect(isRunning({ state: 'Disconnected' })).toBe(false);
    expect(isRunning({ state: 'Failed', code: 'Tls', reason: 'x' })).toBe(false);
    expect(isRunning({ state: 'Connecting', attempt: 1 })).toBe(true);
    expect(isRunning({ state: 'Connected', since: 0, resumed: false })).toBe(true);
  });

  it('describes subscription statuses', () => {
    expect(describeSubscriptionStatus({ status: 'Inactive' })).toBe('Inactive');
    expect(describeSubscriptionStatus({ status: 'Pending' })).toBe('Pending');
    expect(describeSubscriptionStatus({ status: 'Granted', qos: 1 })).toBe('Granted QoS 1');
    expect(describeSubscriptionStatus({ status: 'Refused', reason: 'not authorized' })).toBe(
      'Refused — not authorized',
    );
  });
});
