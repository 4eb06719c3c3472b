import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, isLoopback, portProblem } from './format';
import { setLocale } from '../i18n/index.svelte';

describe('broker formatting', () => {
  it('formats byte counts', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MB');
  });

  it('formats durations', () => {
    expect(formatDuration(0, 42_000)).toBe('42 s');
    expect(formatDuration(0, 180_000)).toBe('3 min');
    expect(formatDuration(0, (2 * 60 + 5) * 60_000)).toBe('2 h 5 min');
    expect(formatDuration(10_000, 0)).toBe('0 s');
  });

  it('formats durations and port problems in the chosen language', () => {
    setLocale('zh-CN');
    try {
      expect(formatDuration(0, 42_000)).toBe('42 秒');
      expect(formatDuration(0, (2 * 60 + 5) * 60_000)).toBe('2 小时 5 分钟');
      expect(portProblem('abc')).toBe('端口必须是数字。');
    } finally {
      setLocale('en');
    }
    expect(portProblem('abc')).toBe('The port must be a number.');
    expect(portProblem('0')).toBe('The port must be between 1 and 65535.');
  });

  it('knows loopback addresses', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('192.168.1.5')).toBe(false);
  });

  it('checks ports', () => {
    expect(portProblem('1883')).toBeNull();
    expect(portProblem('0')).not.toBeNull();
    expect(portProblem('70000')).not.toBeNull();
    expect(portProblem('abc')).not.toBeNull();
  });
});
