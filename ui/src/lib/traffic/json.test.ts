import { describe, expect, it } from 'vitest';
import { childCount, children, jsonType, leafText } from './json';

describe('JSON tree helpers', () => {
  it('names the type of each value', () => {
    expect(jsonType({})).toBe('object');
    expect(jsonType([])).toBe('array');
    expect(jsonType('x')).toBe('string');
    expect(jsonType(1.5)).toBe('number');
    expect(jsonType(false)).toBe('boolean');
    expect(jsonType(null)).toBe('null');
  });

  it('lists children with keys or indexes, capped', () => {
    expect(children({ a: 1, b: [2] })).toEqual({
      entries: [
        ['a', 1],
        ['b', [2]],
      ],
      more: 0,
    });
    expect(children(['x', 'y', 'z'], 2)).toEqual({
      entries: [
        ['0', 'x'],
        ['1', 'y'],
      ],
      more: 1,
    });
    expect(children(3)).toEqual({ entries: [], more: 0 });
    expect(childCount({ a: 1, b: 2 })).toBe(2);
    expect(childCount([1, 2, 3])).toBe(3);
    expect(childCount('abc')).toBe(0);
  });

  it('shows scalars as JSON text, escapes included', () => {
    expect(leafText('a\nb "c"')).toBe('"a\\nb \\"c\\""');
    expect(leafText(21.5)).toBe('21.5');
    expect(leafText(null)).toBe('null');
    expect(leafText(true)).toBe('true');
  });
});
