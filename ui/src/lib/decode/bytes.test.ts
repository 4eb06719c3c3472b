import { describe, expect, it } from 'vitest';
import { base64Bytes, hexBytes, payloadBytes } from './bytes';

describe('composer payload bytes', () => {
  it('reads hex as the backend does', () => {
    expect(hexBytes('de ad:BE 0xef')).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(hexBytes('0xDEADBEEF')).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(hexBytes('abc')).toBeNull();
    expect(hexBytes('zz')).toBeNull();
  });

  it('reads standard and URL-safe Base64, padding optional', () => {
    expect(base64Bytes('3q2+7w==')).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(base64Bytes('3q2-7w')).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(base64Bytes('a')).toBeNull();
    expect(base64Bytes('a*b=')).toBeNull();
  });

  it('sends text and JSON as UTF-8', () => {
    expect([...(payloadBytes('text', 'é') ?? [])]).toEqual([0xc3, 0xa9]);
    expect([...(payloadBytes('json', '{}') ?? [])]).toEqual([0x7b, 0x7d]);
  });
});
