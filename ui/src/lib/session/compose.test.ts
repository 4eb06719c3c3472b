import { describe, expect, it } from 'vitest';
import { toBase64 } from '../platform';
import {
  checkBase64,
  checkHex,
  checkJson,
  checkPayload,
  fillPlaceholders,
  lineColumn,
  loadRecentTopics,
  locateJsonError,
  prettyJson,
  readFileBytes,
  rememberTopic,
  saveRecentTopics,
} from './compose';

describe('checkJson', () => {
  it('accepts JSON values of every kind', () => {
    for (const text of [
      '{"a": 1}',
      '[1, 2.5e3, -0.1]',
      '"x"',
      'true',
      'null',
      ' {"a":{"b":[]}} ',
    ]) {
      expect(checkJson(text), text).toBeNull();
    }
  });

  it('says where and why JSON is invalid', () => {
    expect(checkJson('{"a": }')).toBe('Invalid JSON at line 1, column 7: unexpected “}”');
    expect(checkJson('{\n  "a": 1,\n}')).toBe(
      'Invalid JSON at line 2, column 9: a comma before a closing bracket is not allowed in JSON',
    );
    expect(checkJson("{'a': 1}")).toBe(
      'Invalid JSON at line 1, column 2: expected a property name in double quotes',
    );
    expect(checkJson("['a']")).toBe(
      'Invalid JSON at line 1, column 2: strings and names need double quotes (") in JSON',
    );
    expect(checkJson('{"a" 1}')).toBe(
      'Invalid JSON at line 1, column 6: expected “:” after the property name',
    );
    expect(checkJson('[1 2]')).toBe('Invalid JSON at line 1, column 4: expected “,” or “]”');
    expect(checkJson('{"a": 1')).toBe(
      'Invalid JSON at line 1, column 8: the text ends before the JSON is complete',
    );
    expect(checkJson('{"a": "b')).toBe(
      'Invalid JSON at line 1, column 7: a string is never closed',
    );
    expect(checkJson('[01]')).toBe('Invalid JSON at line 1, column 3: expected “,” or “]”');
    expect(checkJson('[1.]')).toBe('Invalid JSON at line 1, column 2: invalid number');
    expect(checkJson('"\\x"')).toBe(
      'Invalid JSON at line 1, column 2: invalid escape sequence in a string',
    );
    expect(checkJson('[😀]')).toBe('Invalid JSON at line 1, column 2: unexpected “😀”');
    expect(checkJson('{} {}')).toBe(
      'Invalid JSON at line 1, column 4: more text after the end of the JSON value',
    );
    expect(checkJson('  ')).toBe(
      'The payload is empty, which is not JSON. Choose the Text format to send an empty message.',
    );
  });

  it('locates errors in deep nesting without overflowing the stack', () => {
    const deep = '['.repeat(100_000);
    expect(locateJsonError(deep)?.offset).toBe(100_000);
    expect(locateJsonError('[1, {"a": [true, false, null, "\\u00e9"]}]')).toBeNull();
  });

  it('pretty-prints valid JSON only', () => {
    expect(prettyJson('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(prettyJson('{')).toBeNull();
  });

  it('counts lines and columns from 1', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});

describe('checkHex', () => {
  it('accepts bytes separated by spaces, colons, newlines and 0x prefixes', () => {
    for (const text of ['', 'deadbeef', 'de ad:BE 0xef\n00', '0xDEADBEEF', '0x01 0x02']) {
      expect(checkHex(text), text).toBeNull();
    }
  });

  it('refuses odd digit counts, split bytes and other characters, with positions', () => {
    expect(checkHex('abc')).toBe(
      'Invalid hex: odd number of digits (the last byte is missing a digit)',
    );
    expect(checkHex('ag')).toBe('Invalid hex: “g” at position 2 is not a hex digit');
    expect(checkHex('a b')).toBe('Invalid hex: a byte is cut in half before position 2');
  });
});

describe('checkBase64', () => {
  it('accepts standard and URL-safe base64, with or without padding and whitespace', () => {
    for (const text of ['', 'aGk=', 'aGk', 'aGVsbG8=', 'aGVs\nbG8', '_-8', '/+8=', 'AAAA']) {
      expect(checkBase64(text), text).toBeNull();
    }
  });

  it('refuses other characters, mixed alphabets, impossible lengths and cut-short text', () => {
    expect(checkBase64('a*')).toBe('Invalid base64: “*” at position 2 is not a base64 character');
    expect(checkBase64('aG=k')).toBe('Invalid base64: “=” at position 3 is not a base64 character');
    expect(checkBase64('a+_b')).toBe(
      'Invalid base64: mixes the standard (+ /) and the URL-safe (- _) alphabets',
    );
    expect(checkBase64('aGVsb')).toBe(
      'Invalid base64: the length is wrong (one character too many or too few)',
    );
    expect(checkBase64('aGl')).toBe(
      'Invalid base64: the last character does not end a byte (is the text cut short?)',
    );
  });
});

describe('checkPayload', () => {
  it('checks only the formats that have rules', () => {
    expect(checkPayload('text', '{')).toBeNull();
    expect(checkPayload('file', '')).toBeNull();
    expect(checkPayload('json', '{')).not.toBeNull();
    expect(checkPayload('hex', 'x')).not.toBeNull();
    expect(checkPayload('base64', '*')).not.toBeNull();
  });
});

describe('toBase64 (file payloads)', () => {
  it('matches a reference encoder, including large inputs encoded in slices', () => {
    for (const size of [0, 1, 2, 3, 4, 24_575, 24_576, 24_577, 300_001]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 7 + 3) % 256);
      expect(toBase64(bytes), String(size)).toBe(Buffer.from(bytes).toString('base64'));
    }
  });

  it('reads a file into bytes', async () => {
    const bytes = await readFileBytes(new Blob([new Uint8Array([1, 2, 255])]));
    expect([...bytes]).toEqual([1, 2, 255]);
  });
});

describe('recent topics', () => {
  it('keeps the latest first, without duplicates, at most 20', () => {
    let list: string[] = [];
    for (let i = 0; i < 25; i++) list = rememberTopic(list, `t/${i}`);
    expect(list).toHaveLength(20);
    expect(list[0]).toBe('t/24');
    list = rememberTopic(list, 't/10');
    expect(list[0]).toBe('t/10');
    expect(list.filter((x) => x === 't/10')).toHaveLength(1);
  });

  it('survives storage that is missing, broken or full', () => {
    const map = new Map<string, string>();
    const storage = {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
    } as unknown as Storage;
    saveRecentTopics(['a', 'b'], storage);
    expect(loadRecentTopics(storage)).toEqual(['a', 'b']);
    map.set('recentTopics', '{not json');
    expect(loadRecentTopics(storage)).toEqual([]);
    map.set('recentTopics', '["a", 3, null, "b", "a"]');
    expect(loadRecentTopics(storage)).toEqual(['a', 'b']);
    const throwing = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('quota');
      },
    } as unknown as Storage;
    expect(loadRecentTopics(throwing)).toEqual([]);
    expect(() => saveRecentTopics(['a'], throwing)).not.toThrow();
    expect(loadRecentTopics(undefined)).toEqual([]);
  });
});

describe('placeholders', () => {
  it('fills the number, the time and a random value, and leaves other braces alone', () => {
    const now = Date.UTC(2026, 10, 26, 9, 5, 7, 123);
    const text = '{"n": {{n}}, "at": "{{time}}", "ms": {{ms}}, "v": {{random}}, "x": "{{other}}"}';
    expect(fillPlaceholders(text, 7, now, () => 0.12345)).toBe(
      '{"n": 7, "at": "2026-11-26T09:05:07.123Z", "ms": 1795683907123, "v": 12.35, "x": "{{other}}"}',
    );
  });

  it('checks JSON with its placeholders filled', () => {
    expect(checkPayload('json', '{"n": {{n}}, "v": {{random}}}')).toBeNull();
    expect(checkPayload('json', '{"n": {{n}}')).not.toBeNull();
  });
});
