// Payload checks for the publish composer, run on every keystroke. They accept exactly what the
// backend accepts (src-tauri/session/payload.rs) so Send is never disabled for a payload that
// would go through; their job is to say *where* the input goes wrong, in the user's language.
import type { MessageProperties } from '../platform';
import { t } from '../i18n/index.svelte';

export type PayloadFormat = 'text' | 'json' | 'hex' | 'base64' | 'file';
export const PAYLOAD_FORMATS: PayloadFormat[] = ['text', 'json', 'hex', 'base64', 'file'];

/** 1-based line and column of a UTF-16 offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1) ?? '').length + 1 };
}

interface JsonFault {
  offset: number;
  problem: string;
}

/** A character shown inside quotes; invisible ones by their escape. */
function shown(char: string): string {
  if (char === '\n') return '\\n';
  if (char === '\r') return '\\r';
  if (char === '\t') return '\\t';
  return char;
}

/**
 * Finds the first place where `text` stops being JSON, and why. JSON.parse decides validity; this
 * only explains it, because engines disagree on their messages (WebKit, which the app runs in on
 * Linux and macOS, gives no position at all). Iterative, so deep nesting cannot overflow the stack.
 */
export function locateJsonError(text: string): JsonFault | null {
  let i = 0;
  const n = text.length;
  const stack: string[] = [];
  const fault = (problem: string, offset = i): JsonFault => ({ offset, problem });
  const skipSpace = () => {
    while (i < n && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const unexpected = (): JsonFault => {
    if (i >= n) return fault(t('session.json.end'));
    if (text[i] === "'") return fault(t('session.json.single-quote'));
    const char = String.fromCodePoint(text.codePointAt(i) as number);
    return fault(t('session.json.unexpected', { char: shown(char) }));
  };
  const digits = (): boolean => {
    const start = i;
    while (i < n && text[i]! >= '0' && text[i]! <= '9') i++;
    return i > start;
  };
  // Each scanner returns a fault, or null having moved `i` past what it read.
  const scanString = (): JsonFault | null => {
    const open = i;
    i++;
    while (i < n) {
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return null;
      }
      if (c === '\\') {
        const next = text[i + 1];
        if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else return fault(t('session.json.escape'));
        continue;
      }
      if (c.charCodeAt(0) < 0x20) return fault(t('session.json.control'));
      i++;
    }
    return fault(t('session.json.unterminated'), open);
  };
  const scanNumber = (): JsonFault | null => {
    const start = i;
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (!digits()) return fault(t('session.json.number'), start);
    if (text[i] === '.') {
      i++;
      if (!digits()) return fault(t('session.json.number'), start);
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!digits()) return fault(t('session.json.number'), start);
    }
    return null;
  };
  // After `{` or `,` inside an object: a key and its colon.
  const scanKey = (): JsonFault | null => {
    skipSpace();
    if (text[i] !== '"')
      return i >= n ? fault(t('session.json.end')) : fault(t('session.json.key'));
    const problem = scanString();
    if (problem) return problem;
    skipSpace();
    if (text[i] !== ':')
      return i >= n ? fault(t('session.json.end')) : fault(t('session.json.colon'));
    i++;
    return null;
  };

  skipSpace();
  if (i >= n) return fault(t('session.json.empty'), 0);
  for (;;) {
    // A value starts here.
    skipSpace();
    const c = text[i];
    let problem: JsonFault | null = null;
    let opened = false;
    if (c === '{' || c === '[') {
      i++;
      skipSpace();
      if (text[i] === (c === '{' ? '}' : ']')) i++;
      else {
        stack.push(c);
        opened = true;
        if (c === '{') problem = scanKey();
      }
    } else if (c === '"') problem = scanString();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) problem = scanNumber();
    else {
      const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, i));
      if (word) i += word.length;
      else return unexpected();
    }
    if (problem) return problem;
    if (opened) continue;
    // A value ended: close containers or move to the next element.
    for (;;) {
      skipSpace();
      const top = stack.at(-1);
      if (top === undefined) return i < n ? fault(t('session.json.extra')) : null;
      const close = top === '{' ? '}' : ']';
      if (text[i] === close) {
        stack.pop();
        i++;
        continue;
      }
      if (text[i] !== ',') {
        if (i >= n) return fault(t('session.json.end'));
        return fault(t(top === '{' ? 'session.json.comma-brace' : 'session.json.comma-bracket'));
      }
      const comma = i;
      i++;
      skipSpace();
      if (text[i] === close) return fault(t('session.json.trailing-comma'), comma);
      if (top === '{') {
        const keyProblem = scanKey();
        if (keyProblem) return keyProblem;
      }
      break;
    }
  }
}

/** Null when `text` is JSON; otherwise what is wrong, with line and column when known. */
export function checkJson(text: string): string | null {
  if (text.trim() === '') return t('session.json.empty');
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    const found = locateJsonError(text);
    if (found) {
      const { line, column } = lineColumn(text, found.offset);
      return t('session.json.invalid', { line, column, problem: found.problem });
    }
    return t('session.json.invalid-plain', {
      problem: error instanceof Error ? error.message : String(error),
    });
  }
}

/** The JSON re-indented with two spaces, or null when it is not JSON. */
export function prettyJson(text: string): string | null {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

/**
 * Null when `text` is hex bytes: pairs of digits, with whitespace, `:` or a `0x` prefix allowed
 * between bytes (never inside one). Positions are 1-based, counted in characters.
 */
export function checkHex(text: string): string | null {
  const chars = Array.from(text);
  let half = false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (!half && c === '0' && (chars[i + 1] === 'x' || chars[i + 1] === 'X')) {
      i++;
      continue;
    }
    if (/\s/.test(c) || c === ':') {
      if (half) return t('session.hex.split', { position: i + 1 });
      continue;
    }
    if (!/[0-9a-fA-F]/.test(c)) return t('session.hex.digit', { char: shown(c), position: i + 1 });
    half = !half;
  }
  return half ? t('session.hex.odd') : null;
}

const BASE64_STANDARD = /[A-Za-z0-9+/]/;
const BASE64_URL = /[A-Za-z0-9\-_]/;
const BASE64_VALUES = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Null when `text` is base64, standard or URL-safe, padding optional, whitespace ignored. Like the
 * backend it rejects a last character whose unused bits are set (a sign the text was cut short).
 */
export function checkBase64(text: string): string | null {
  const chars = Array.from(text);
  const significant: { char: string; position: number }[] = [];
  chars.forEach((char, index) => {
    if (!/\s/.test(char)) significant.push({ char, position: index + 1 });
  });
  while (significant.at(-1)?.char === '=') significant.pop();
  for (const { char, position } of significant) {
    if (!BASE64_STANDARD.test(char) && !BASE64_URL.test(char)) {
      return t('session.base64.char', { char: shown(char), position });
    }
  }
  const data = significant.map((s) => s.char).join('');
  if (/[-_]/.test(data) && /[+/]/.test(data)) return t('session.base64.mixed');
  if (data.length % 4 === 1) return t('session.base64.length');
  const last = data.at(-1);
  if (last !== undefined && data.length % 4 !== 0) {
    const value =
      last === '+' || last === '-'
        ? 62
        : last === '/' || last === '_'
          ? 63
          : BASE64_VALUES.indexOf(last);
    const unused = data.length % 4 === 2 ? 0b1111 : 0b11;
    if ((value & unused) !== 0) return t('session.base64.bits');
  }
  return null;
}

/** Null when the payload can be sent in this format; otherwise the problem in words. */
export function checkPayload(format: PayloadFormat, data: string): string | null {
  switch (format) {
    case 'json':
      // Checked as it will be sent: with its placeholders filled.
      return checkJson(fillPlaceholders(data, 1, 0, () => 0));
    case 'hex':
      return checkHex(data);
    case 'base64':
      return checkBase64(data);
    default:
      return null;
  }
}

/** The formats whose text may hold placeholders (hex, Base64 and files are sent as they are). */
export const TEMPLATED_FORMATS: readonly PayloadFormat[] = ['text', 'json'];

/**
 * Fills a payload's placeholders for message number `n`: `{{n}}` the number, `{{time}}` the time
 * (ISO 8601, UTC), `{{ms}}` the time in ms since the epoch, `{{random}}` a number from 0 to 100
 * with two decimals. Anything else in double braces is left as it is.
 */
export function fillPlaceholders(
  text: string,
  n: number,
  now: number = Date.now(),
  random: () => number = Math.random,
): string {
  return text.replace(/\{\{(n|time|ms|random)\}\}/g, (_, name: string) => {
    switch (name) {
      case 'n':
        return String(n);
      case 'time':
        return new Date(now).toISOString();
      case 'ms':
        return String(now);
      default:
        return (Math.round(random() * 10_000) / 100).toFixed(2);
    }
  });
}

/** A file's bytes (FileReader where Blob.arrayBuffer is missing, as in older webviews). */
export function readFileBytes(file: Blob): Promise<Uint8Array> {
  if (typeof file.arrayBuffer === 'function') {
    return file.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  }
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsArrayBuffer(file);
  });
}

/** Properties that say nothing (MQTT 3.1.1 sessions, or none filled in). */
export function noProperties(): MessageProperties {
  return {
    contentType: null,
    payloadIsUtf8: false,
    messageExpiry: null,
    responseTopic: null,
    correlationData: null,
    userProperties: [],
    willDelay: null,
  };
}

export const RECENT_TOPICS_KEY = 'recentTopics';
export const RECENT_TOPICS_MAX = 20;

/** `topic` first, without duplicates, at most `max` entries. */
export function rememberTopic(list: string[], topic: string, max = RECENT_TOPICS_MAX): string[] {
  return [topic, ...list.filter((known) => known !== topic)].slice(0, max);
}

/** The remembered topics; none when storage is unavailable or holds something unexpected. */
export function loadRecentTopics(storage: Storage | undefined = globalThis.localStorage): string[] {
  try {
    const value: unknown = JSON.parse(storage?.getItem(RECENT_TOPICS_KEY) ?? '[]');
    if (!Array.isArray(value)) return [];
    // Deduplicated: the list keys the datalist, and storage may hold anything.
    const topics = value.filter((v): v is string => typeof v === 'string');
    return [...new Set(topics)].slice(0, RECENT_TOPICS_MAX);
  } catch {
    return [];
  }
}

export function saveRecentTopics(
  list: string[],
  storage: Storage | undefined = globalThis.localStorage,
): void {
  try {
    storage?.setItem(RECENT_TOPICS_KEY, JSON.stringify(list.slice(0, RECENT_TOPICS_MAX)));
  } catch {
    // not remembered across restarts; still listed for this run
  }
}
