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
