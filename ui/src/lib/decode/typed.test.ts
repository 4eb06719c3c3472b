import { describe, expect, it } from 'vitest';
import { MAX_VALUES, readTyped } from './typed';

describe('typed binary arrays', () => {
  const bytes = new Uint8Array([0x01, 0x02, 0xff, 0xfe, 0x00]);

  it('reads each width and signedness, in both byte orders', () => {
    expect(readTyped(bytes, 'uint8', true).values).toEqual(['1', '2', '255', '254', '0']);
    expect(readTyped(bytes, 'int8', true).values).toEqual(['1', '2', '-1', '-2', '0']);
    expect(readTyped(bytes, 'uint16', false).values).toEqual(['258', '65534']);
    expect(readTyped(bytes, 'uint16', true).values).toEqual(['513', '65279']);
    expect(readTyped(bytes, 'int16', false, 2).values).toEqual(['-2']);
    expect(readTyped(bytes, 'int16', false).leftover).toBe(1);
  });

  it('reads 64-bit integers exactly and floats as IEEE 754', () => {
    const max = new Uint8Array(8).fill(0xff);
    expect(readTyped(max, 'uint64', true).values).toEqual(['18446744073709551615']);
    expect(readTyped(max, 'int64', true).values).toEqual(['-1']);
    const f = new Uint8Array(new Float32Array([1.5, -0.25]).buffer);
    expect(readTyped(f, 'float32', true).values).toEqual(['1.5', '-0.25']);
    const d = new Uint8Array(8);
    new DataView(d.buffer).setFloat64(0, Math.PI, false);
    expect(readTyped(d, 'float64', false).values).toEqual([String(Math.PI)]);
  });

  it('an offset past the end, or too few bytes, reads nothing', () => {
    expect(readTyped(bytes, 'uint8', true, 99)).toEqual({ values: [], total: 0, leftover: 0 });
    expect(readTyped(bytes, 'float64', true)).toEqual({ values: [], total: 0, leftover: 5 });
    expect(readTyped(bytes.subarray(1), 'uint16', false).values).toEqual(['767', '65024']);
  });

  it('stops at the limit but counts every element', () => {
    const big = new Uint8Array(MAX_VALUES + 5);
    const reading = readTyped(big, 'uint8', true);
    expect(reading.values.length).toBe(MAX_VALUES);
    expect(reading.total).toBe(MAX_VALUES + 5);
  });
});
