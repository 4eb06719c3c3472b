import { describe, expect, it } from 'vitest';
import { clock, filterList, size } from './format';

describe('capture format', () => {
  it('writes sizes and times as people read them', () => {
    expect(size(950)).toBe('950 B');
    expect(size(12_345)).toBe('12.3 kB');
    expect(size(4_100_000)).toBe('4.1 MB');
    expect(clock(65_000)).toBe('1:05');
    expect(clock(3_725_000)).toBe('1:02:05');
    expect(clock(-5)).toBe('0:00');
  });

  it('reads filters separated by commas, spaces or lines', () => {
    expect(filterList(' a/#, b/+/c\n d ')).toEqual(['a/#', 'b/+/c', 'd']);
    expect(filterList('   ')).toEqual([]);
  });
});
