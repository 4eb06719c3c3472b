import { describe, expect, it } from 'vitest';
import type { QueueStats } from '../../platform/amqpQueues';
import { queue } from './testing';
import { DEFAULT_SORT, formatCount, formatRate, nextSort, sortQueues } from './table';

const names = (list: QueueStats[]) => list.map((q) => q.name);

describe('the queue table', () => {
  const queues = [
    queue('orders', { messages: 5, messagesReady: 3, consumers: 1, publishRate: 2.5 }),
    queue('emails', { messages: 40, messagesReady: 40 }),
    queue('hello', { messages: 5, messagesReady: 5, deliverRate: null }),
  ];

  it('sorts by name first, then by any column, ties by name', () => {
    expect(names(sortQueues(queues, DEFAULT_SORT))).toEqual(['emails', 'hello', 'orders']);
    const byTotal = nextSort(DEFAULT_SORT, 'total');
    expect(byTotal).toEqual({ key: 'total', descending: true }); // numbers: largest first
    expect(names(sortQueues(queues, byTotal))).toEqual(['emails', 'hello', 'orders']);
    const flipped = nextSort(byTotal, 'total');
    expect(flipped.descending).toBe(false);
    expect(names(sortQueues(queues, flipped))).toEqual(['hello', 'orders', 'emails']);
    expect(names(sortQueues(queues, { key: 'incoming', descending: true }))[0]).toBe('orders');
    // A rate the backend could not send (null) sorts as 0.
    expect(names(sortQueues(queues, { key: 'deliver', descending: false }))).toEqual([
      'emails',
      'hello',
      'orders',
    ]);
    expect(nextSort(byTotal, 'name')).toEqual({ key: 'name', descending: false });
  });

  it('filters by a part of the name, in any case, without touching the list', () => {
    expect(names(sortQueues(queues, DEFAULT_SORT, ' ORD '))).toEqual(['orders']);
    expect(sortQueues(queues, DEFAULT_SORT, 'nothing')).toEqual([]);
    expect(names(queues)).toEqual(['orders', 'emails', 'hello']);
  });

  it('writes counts and rates as the management page does', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(null)).toBe('0');
    expect(formatRate(0)).toBe('0.00');
    expect(formatRate(2.345)).toBe('2.35');
    expect(formatRate(42.16)).toBe('42.2');
    expect(formatRate(12345.6)).toBe('12,346');
    expect(formatRate(null)).toBe('0.00');
  });
});
