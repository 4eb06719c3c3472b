import { describe, expect, it } from 'vitest';
import {
  asJson,
  asText,
  dateTime,
  followSelection,
  hexDump,
  truncate,
  VIEW_LIMIT,
} from './payload';
import { decodeMessages, toBase64, type StoredMessage } from '../platform';

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

  it('dumps at most the bytes asked for', () => {
    const dump = hexDump(new Uint8Array(100), 32);
    expect(dump.split('\n')).toHaveLength(2);
    expect(hexDump(new Uint8Array())).toBe('');
  });

  it('truncates to the view limit without copying', () => {
    const big = new Uint8Array(VIEW_LIMIT + 10);
    const cut = truncate(big);
    expect(cut.truncated).toBe(true);
    expect(cut.bytes.length).toBe(VIEW_LIMIT);
    expect(cut.bytes.buffer).toBe(big.buffer);
    expect(truncate(new Uint8Array(3))).toMatchObject({ truncated: false });
    expect(VIEW_LIMIT).toBe(65536);
  });

  it('encodes Base64 like the standard, across chunk boundaries', () => {
    expect(toBase64(new Uint8Array())).toBe('');
    expect(toBase64(new TextEncoder().encode('f'))).toBe('Zg==');
    expect(toBase64(new TextEncoder().encode('fo'))).toBe('Zm8=');
    expect(toBase64(new TextEncoder().encode('foo'))).toBe('Zm9v');
    expect(toBase64(new TextEncoder().encode('foobar'))).toBe('Zm9vYmFy');
    for (const size of [1, 2, 3, 12287, 12288, 12289, 100_000]) {
      const data = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
      expect(toBase64(data)).toBe(Buffer.from(data).toString('base64'));
    }
  });

  it('formats date and time in local time', () => {
    const at = new Date(2024, 4, 1, 12, 3, 4, 512).getTime();
    expect(dateTime(at)).toBe('2024-05-01 12:03:04.512');
  });
});

describe('history selection', () => {
  const message = (timeMs: number): StoredMessage => ({
    timeMs,
    qos: 0,
    retain: false,
    payload: new Uint8Array(1),
    properties: [],
  });

  it('keeps showing the newest when newer messages arrive', () => {
    expect(followSelection([message(2), message(1)], 0, [message(3), message(2)])).toBe(0);
  });

  it('keeps an older message selected while it is in the list', () => {
    const before = [message(3), message(2), message(1)];
    expect(followSelection(before, 2, [message(4), message(3), message(2), message(1)])).toBe(3);
    expect(followSelection(before, 2, [message(5), message(4)])).toBe(0);
  });
});

describe('binary message lists', () => {
  function encode(
    messages: {
      time: number;
      qos: number;
      retain: boolean;
      payload: number[];
      properties?: [string, string][];
    }[],
  ) {
    const utf8 = new TextEncoder();
    const size = messages.reduce(
      (n, m) =>
        n +
        16 +
        m.payload.length +
        (m.properties ?? []).reduce(
          (p, [k, v]) => p + 6 + utf8.encode(k).length + utf8.encode(v).length,
          0,
        ),
      0,
    );
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
      const properties = m.properties ?? [];
      view.setUint16(at, properties.length);
      at += 2;
      for (const [k, v] of properties) {
        const [name, value] = [utf8.encode(k), utf8.encode(v)];
        view.setUint16(at, name.length);
        new Uint8Array(buffer, at + 2, name.length).set(name);
        at += 2 + name.length;
        view.setUint32(at, value.length);
        new Uint8Array(buffer, at + 4, value.length).set(value);
        at += 4 + value.length;
      }
    }
    return buffer;
  }

  it('decodes what the backend sends', () => {
    const decoded = decodeMessages(
      encode([
        {
          time: 1_700_000_000_123,
          qos: 1,
          retain: true,
          payload: [1, 2, 3],
          properties: [
            ['Content Type', 'application/json'],
            ['User Property', 'unité = °C'],
          ],
        },
        { time: 5, qos: 0, retain: false, payload: [] },
      ]),
    );
    expect(decoded).toHaveLength(2);
    expect(decoded[0]!.properties).toEqual([
      { name: 'Content Type', value: 'application/json' },
      { name: 'User Property', value: 'unité = °C' },
    ]);
    expect(decoded[1]!.properties).toEqual([]);
    expect(decoded[0]).toMatchObject({ timeMs: 1_700_000_000_123, qos: 1, retain: true });
    expect([...decoded[0]!.payload]).toEqual([1, 2, 3]);
    expect(decoded[1]!.payload.length).toBe(0);
  });

  it('keeps only whole messages from a truncated buffer', () => {
    const buffer = encode([{ time: 1, qos: 0, retain: false, payload: [9, 9, 9] }]);
    expect(decodeMessages(buffer.slice(0, 15))).toEqual([]);
  });
});
