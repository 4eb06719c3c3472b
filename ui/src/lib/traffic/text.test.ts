import { describe, expect, it } from 'vitest';
import { decodeText, visibleText } from './text';

const bytes = (...values: number[]) => new Uint8Array(values);
const utf8 = (text: string) => new TextEncoder().encode(text);

describe('safe text decoding', () => {
  it('decodes valid UTF-8 unchanged, in one piece', () => {
    const decoded = decodeText(utf8('温度 21.5 °C ✓ 😀\nnext\tline'));
    expect(decoded).toEqual({
      pieces: [{ kind: 'text', text: '温度 21.5 °C ✓ 😀\nnext\tline' }],
      invalid: 0,
      controls: 0,
    });
  });

  it('shows each invalid byte as \\xNN and counts it', () => {
    const decoded = decodeText(bytes(0x68, 0x69, 0xff, 0xfe, 0x21));
    expect(decoded.pieces).toEqual([
      { kind: 'text', text: 'hi' },
      { kind: 'invalid', text: '\\xFF\\xFE' },
      { kind: 'text', text: '!' },
    ]);
    expect(decoded.invalid).toBe(2);
  });

  it('rejects overlong forms, surrogates, stray and missing continuation bytes', () => {
    expect(decodeText(bytes(0xc0, 0xaf)).invalid).toBe(2); // overlong "/"
    expect(decodeText(bytes(0xe0, 0x80, 0xaf)).invalid).toBe(3); // overlong
    expect(decodeText(bytes(0xed, 0xa0, 0x80)).invalid).toBe(3); // surrogate U+D800
    expect(decodeText(bytes(0xf4, 0x90, 0x80, 0x80)).invalid).toBe(4); // above U+10FFFF
    expect(decodeText(bytes(0x80)).invalid).toBe(1); // stray continuation
    expect(visibleText(decodeText(bytes(0xe2, 0x82, 0x41)))).toBe('\\xE2\\x82A'); // cut short
    expect(visibleText(decodeText(bytes(0xe2, 0x82)))).toBe('\\xE2\\x82'); // ends early
  });

  it('drops a character cut off by truncation instead of calling it invalid', () => {
    const euro = utf8('ab€'); // € is 3 bytes
    const decoded = decodeText(euro.subarray(0, 4), { cutAtEnd: true });
    expect(visibleText(decoded)).toBe('ab');
    expect(decoded.invalid).toBe(0);
  });

  it('makes control characters visible, keeping line feeds and tabs', () => {
    const decoded = decodeText(bytes(0x61, 0x00, 0x1b, 0x0d, 0x0a, 0x09, 0x7f, 0xc2, 0x85));
    expect(visibleText(decoded)).toBe('a\u2400\u241b\u240d\n\t\u2421\\u0085');
    expect(decoded.controls).toBe(5);
    expect(decoded.pieces.map((p) => p.kind)).toEqual(['text', 'control', 'text', 'control']);
  });

  it('keeps markup as plain characters', () => {
    expect(visibleText(decodeText(utf8('<script>alert(1)</script>')))).toBe(
      '<script>alert(1)</script>',
    );
  });
});
