import { describe, expect, it } from 'vitest';
import { setLocale } from '../i18n/index.svelte';
import type { BrokerAnswer } from '../platform';
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
        answer: null,
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
      describeState(
        {
          state: 'Failed',
          code: 'AuthFailed',
          reason: 'bad username or password',
          answer: null,
        },
        0,
      ),
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

  it("puts the broker's reason codes in the UI's language, keeping English where it has none", () => {
    const failed = (reason: string, answer: BrokerAnswer | null) =>
      ({ state: 'Failed', code: 'AuthFailed', reason, answer }) as const;
    const english = 'wrong username or password (bad user name or password) [CONNACK code 0x86]';
    const connack = { packet: 'CONNACK', code: 0x86, detail: '' } as const;
    expect(describeState(failed(english, connack), 0)).toBe(`Failed — ${english}`);
    setLocale('zh-CN');
    try {
      expect(describeState(failed(english, connack), 0)).toBe(
        '失败 — 认证失败：用户名或密码错误 [CONNACK 代码 0x86]',
      );
      // The broker's own reason string stays as the broker wrote it.
      const kicked = { packet: 'DISCONNECT', code: 0x8e, detail: 'bye' } as const;
      expect(describeState(failed('session taken over', kicked), 0)).toContain(
        '会话被接管：另一个客户端以相同的客户端 ID 连接 [DISCONNECT 代码 0x8E]：bye',
      );
      // A code without words keeps the backend's sentence, which names it.
      const odd = { packet: 'CONNACK', code: 0x8b, detail: '' } as const;
      expect(describeState(failed('refused [CONNACK code 0x8B]', odd), 0)).toContain(
        'refused [CONNACK code 0x8B]',
      );
      expect(
        describeSubscriptionStatus({ status: 'Refused', reason: 'not authorized', code: 0x87 }),
      ).toContain('未授权 [SUBACK 代码 0x87]');
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
    expect(isRunning({ state: 'Failed', code: 'Tls', reason: 'x', answer: null })).toBe(false);
    expect(isRunning({ state: 'Connecting', attempt: 1 })).toBe(true);
    expect(isRunning({ state: 'Connected', since: 0, resumed: false })).toBe(true);
  });

  it('describes subscription statuses', () => {
    expect(describeSubscriptionStatus({ status: 'Inactive' })).toBe('Inactive');
    expect(describeSubscriptionStatus({ status: 'Pending' })).toBe('Pending');
    expect(describeSubscriptionStatus({ status: 'Granted', qos: 1 })).toBe('Granted QoS 1');
    expect(
      describeSubscriptionStatus({ status: 'Refused', reason: 'not authorized', code: 0x87 }),
    ).toBe('Refused — not authorized');
  });
});
