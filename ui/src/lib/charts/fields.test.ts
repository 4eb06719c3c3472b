import { describe, expect, it } from 'vitest';
import { FIELD_LIMIT, isNumberPayload, numericFields, pointerToken } from './fields';

describe('numericFields', () => {
  it('offers the payload itself when it is a number or a boolean', () => {
    expect(numericFields(21.5)).toEqual(['']);
    expect(numericFields(false)).toEqual(['']);
    expect(numericFields('21.5')).toEqual([]);
    expect(numericFields(null)).toEqual([]);
  });

  it('names numeric and boolean fields by JSON pointer, in document order', () => {
    const value = {
      celsius: 21,
      unit: 'C',
      ok: true,
      sensors: [{ v: 1 }, { v: 2, label: 'x' }],
      'a/b~c': 3,
      nothing: null,
    };
    expect(numericFields(value)).toEqual([
      '/celsius',
      '/ok',
      '/sensors/0/v',
      '/sensors/1/v',
      '/a~1b~0c',
    ]);
    expect(pointerToken('~/')).toBe('~0~1');
  });

  it('stays bounded on large and deep payloads', () => {
    const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    expect(numericFields(wide)).toHaveLength(FIELD_LIMIT);
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(numericFields(deep)).toEqual([]);
  });
});

describe('isNumberPayload', () => {
  it('knows a bare reading from other text', () => {
    const bytes = (text: string) => new TextEncoder().encode(text);
    for (const text of ['21.5', ' -7\n', '+3', '1e3', '.5', '5.', 'true', 'false']) {
      expect(isNumberPayload(bytes(text)), text).toBe(true);
    }
    for (const text of ['', 'on', '21.5 C', 'NaN', 'inf', '1,5', '{"a":1}', '1'.repeat(65)]) {
      expect(isNumberPayload(bytes(text)), text).toBe(false);
    }
  });
});
