import { describe, expect, it } from 'vitest';
import { asJson, asText, hexDump } from './payload';
import { decodeMessages } from '../platform';

describe('payload views', () => {
  it('shows invalid UTF-8 as replacement characters instead of dropping it', () => {
    expect(asText(new Uint8Array([0x68, 0x69, 0xff, 0x21]))).toBe('hi\uFFFD!');
  });

  it('pretty-prints JSON and refuses what is not JSON', () => {
    expect(asJson(new TextEncoder().encode('{"t":21.5}'))).toBe('{\n  "t": 21.5\n}');
    expect(asJson(new TextEncoder().encode('{"t":'))).toBeNull();
    expect(asJson(new TextEncoder().encode('21.5'))).toBeNull();
  });

  it('dumps bytes as hex with printable ASCII', () => {
    const dump = hexDump(new Uint8Array([0x00, 0x41, 0x7f, 0x3c]));
    expect(dump).toBe('00000000  00 41 7f 3c' + ' '.repeat(36) + '  .A.<');
  });
});

describe('binary message lists', () => {
  function encode(messages: { time: number; qos: number; retain: boolean; payload: number[] }[]) {
    const size = messages.reduce((n, m) => n + 14 + m.payload.length, 0);
    const buffer = new ArrayBuffer(size);
    const view = new DataView(buffer);
    let at = 0;
    for (const m of messages) {
      view.setBigUint64(at, BigInt(m.time));
      view.setUint8(at + 8, m.qos);
      view.setUint8(at + 9, m.retain ? 1 : 0);
      view.setUint32(at + 10, m.payload.length);
      new Uint8Array(buffer, at + 14, m.payload.length).set(m.payload);
      at += 14 + m.payload.length;
    }
    return buffer;
  }

  it('decodes what the backend sends', () => {
    const decoded = decodeMessages(
      encode([
        { time: 1_700_000_000_123, qos: 1, retain: true, payload: [1, 2, 3] },
        { time: 5, qos: 0, retain: false, payload: [] },
      ]),
    );
    expect(decoded).toHaveLength(2);
    expect(decoded[0]).toMatchObject({ timeMs: 1_700_000_000_123, qos: 1, retain: true });
    expect([...decoded[0]!.payload]).toEqual([1, 2, 3]);
    expect(decoded[1]!.payload.length).toBe(0);
  });

  it('keeps only whole messages from a truncated buffer', () => {
    const buffer = encode([{ time: 1, qos: 0, retain: false, payload: [9, 9, 9] }]);
    expect(decodeMessages(buffer.slice(0, 15))).toEqual([]);
  });
});
