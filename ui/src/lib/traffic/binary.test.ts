import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, decodeCbor, decodeMsgpack, diagnostic } from './binary';

const bytes = (hex: string) =>
  new Uint8Array((hex.replace(/\s/g, '').match(/../g) ?? []).map((b) => parseInt(b, 16)));
const cbor = (hex: string) => {
  const item = decodeCbor(bytes(hex));
  return item === null ? null : diagnostic(item);
};
const msgpack = (hex: string) => {
  const item = decodeMsgpack(bytes(hex));
  return item === null ? null : diagnostic(item);
};

describe('CBOR', () => {
  it('reads the examples of RFC 8949 appendix A', () => {
    expect(cbor('00')).toBe('0');
    expect(cbor('17')).toBe('23');
    expect(cbor('1818')).toBe('24');
    expect(cbor('1903e8')).toBe('1000');
    expect(cbor('1bffffffffffffffff')).toBe('18446744073709551615');
    expect(cbor('3863')).toBe('-100');
    expect(cbor('f93c00')).toBe('1.0');
    expect(cbor('f90001')).toBe('5.960464477539063e-8');
    expect(cbor('f97e00')).toBe('NaN');
    expect(cbor('f9fc00')).toBe('-Infinity');
    expect(cbor('fb3ff199999999999a')).toBe('1.1');
    expect(cbor('f4')).toBe('false');
    expect(cbor('f7')).toBe('undefined');
    expect(cbor('f0')).toBe('simple(16)');
    expect(cbor('f8ff')).toBe('simple(255)');
    expect(cbor('c11a514b67b0')).toBe('1(1363896240)');
    expect(cbor('4401020304')).toBe("h'01020304'");
    expect(cbor('6449455446')).toBe('"IETF"');
    expect(cbor('62225c')).toBe('"\\"\\\\"');
    expect(cbor('83010203')).toBe('[\n  1,\n  2,\n  3\n]');
    expect(cbor('a26161016162820203')).toBe('{\n  "a": 1,\n  "b": [\n    2,\n    3\n  ]\n}');
    expect(cbor('5f42010243030405ff')).toBe("h'0102030405'");
    expect(cbor('7f657374726561646d696e67ff')).toBe('"streaming"');
    expect(cbor('9fff')).toBe('[]');
    expect(cbor('bf6346756ef563416d7421ff')).toBe('{\n  "Fun": true,\n  "Amt": -2\n}');
  });

  it('refuses what is not exactly one well-formed item', () => {
    for (const hex of [
      '', // nothing
      '0000', // two items
      '1a0102', // truncated argument
      '43010203ff', // bytes left over
      '1c', // reserved additional information
      'ff', // a break alone
      '62c328', // invalid UTF-8
      '9b00000000ffffffff', // four billion items announced in a few bytes
      '5f6161ff', // a text chunk in a byte string
      'f818', // a two-byte simple value below 32
    ]) {
      expect(decodeCbor(bytes(hex)), hex).toBeNull();
    }
    expect(decodeCbor(bytes('81'.repeat(MAX_DEPTH + 2) + '00'))).toBeNull();
    expect(decodeCbor(bytes('81'.repeat(MAX_DEPTH - 1) + '00'))).not.toBeNull();
  });
});

describe('MessagePack', () => {
  it('reads every family of formats', () => {
    expect(msgpack('93010203')).toBe('[\n  1,\n  2,\n  3\n]');
    expect(msgpack('82a16101a162c3')).toBe('{\n  "a": 1,\n  "b": true\n}');
    expect(msgpack('cb3ff199999999999a')).toBe('1.1');
    expect(msgpack('ca3fc00000')).toBe('1.5');
    expect(msgpack('c403010203')).toBe("h'010203'");
    expect(msgpack('d09c')).toBe('-100');
    expect(msgpack('ff')).toBe('-1');
    expect(msgpack('cfffffffffffffffff')).toBe('18446744073709551615');
    expect(msgpack('d3ffffffffffffffff')).toBe('-1');
    expect(msgpack('c0')).toBe('null');
    expect(msgpack('d903616263')).toBe('"abc"');
    expect(msgpack('d6ff00000001')).toBe("ext(-1, h'00000001')");
    expect(msgpack('90')).toBe('[]');
    expect(msgpack('80')).toBe('{}');
  });

  it('refuses what is not exactly one well-formed item', () => {
    for (const hex of ['', 'c1', '9301', '0101', 'a3616263ff', 'dd7fffffff', 'c4ff00']) {
      expect(decodeMsgpack(bytes(hex)), hex).toBeNull();
    }
  });

  it('cuts long byte strings in the notation', () => {
    const bin16 = (length: number) =>
      new Uint8Array([0xc5, length >> 8, length & 0xff, ...new Array(length).fill(0xab)]);
    expect(diagnostic(decodeMsgpack(bin16(257))!)).toMatch(/^h'(ab){256}…' \/\* 257 bytes \*\/$/);
    expect(diagnostic(decodeMsgpack(bin16(256))!)).toMatch(/^h'(ab){256}'$/);
  });
});
