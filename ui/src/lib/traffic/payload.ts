// Payloads are untrusted bytes: these helpers only ever produce plain strings for text nodes.
import type { StoredMessage } from '../platform';

/** The text, JSON, hex and Base64 views show at most this many bytes of a payload. */
export const VIEW_LIMIT = 64 * 1024;

/** UTF-8 text, with invalid bytes shown as U+FFFD rather than dropped. */
export function asText(payload: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(payload);
}

/** Pretty JSON when the payload is JSON, otherwise null. */
export function asJson(payload: Uint8Array): string | null {
  const text = asText(payload).trim();
  if (!text.startsWith('{') && !text.startsWith('[')) return null;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

/** The first `limit` bytes (no copy) and whether anything was left out. */
export function truncate(
  payload: Uint8Array,
  limit = VIEW_LIMIT,
): { bytes: Uint8Array; truncated: boolean } {
  if (payload.length <= limit) return { bytes: payload, truncated: false };
  return { bytes: payload.subarray(0, limit), truncated: true };
}

/** A classic hex dump: offset, 16 bytes in hex, and their printable ASCII; at most `maxBytes`. */
export function hexDump(payload: Uint8Array, maxBytes = VIEW_LIMIT): string {
  const lines: string[] = [];
  const end = Math.min(payload.length, maxBytes);
  for (let offset = 0; offset < end; offset += 16) {
    const chunk = payload.subarray(offset, Math.min(offset + 16, end));
    const hex = [...chunk].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...chunk]
      .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'))
      .join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Standard Base64 with padding. Works through the bytes in chunks so that large payloads never
 * build one huge intermediate string or argument list.
 */
export function toBase64(bytes: Uint8Array): string {
  const CHUNK = 3 * 4096; // a multiple of 3: chunks concatenate without padding in between
  const parts: string[] = [];
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const end = Math.min(start + CHUNK, bytes.length);
    const out: string[] = [];
    for (let i = start; i < end; i += 3) {
      const a = bytes[i]!;
      const b = i + 1 < end ? bytes[i + 1]! : 0;
      const c = i + 2 < end ? bytes[i + 2]! : 0;
      const n = (a << 16) | (b << 8) | c;
      out.push(
        BASE64[(n >> 18) & 63]! +
          BASE64[(n >> 12) & 63]! +
          (i + 1 < end ? BASE64[(n >> 6) & 63]! : '=') +
          (i + 2 < end ? BASE64[n & 63]! : '='),
      );
    }
    parts.push(out.join(''));
  }
  return parts.join('');
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** "12:03:04.512" in local time. */
export function clock(timeMs: number): string {
  const d = new Date(timeMs);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** "2024-05-01 12:03:04.512" in local time. */
export function dateTime(timeMs: number): string {
  const d = new Date(timeMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(timeMs)}`;
}

/**
 * Which entry of a freshly fetched history (newest first) to show. Showing the newest keeps
 * showing the newest; an older message the user picked stays selected while newer ones arrive,
 * as long as it is still in the list (otherwise the newest is shown).
 */
export function followSelection(
  before: StoredMessage[],
  shown: number,
  after: StoredMessage[],
): number {
  const picked = shown > 0 ? before[shown] : undefined;
  if (!picked) return 0;
  const index = after.findIndex(
    (m) =>
      m.timeMs === picked.timeMs &&
      m.qos === picked.qos &&
      m.retain === picked.retain &&
      m.payload.length === picked.payload.length,
  );
  return Math.max(0, index);
}
