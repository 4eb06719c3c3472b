// Payloads are untrusted bytes: these helpers only ever produce plain strings for text nodes.

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

/** A classic hex dump: offset, 16 bytes in hex, and their printable ASCII. */
export function hexDump(payload: Uint8Array, maxBytes = 4096): string {
  const lines: string[] = [];
  const end = Math.min(payload.length, maxBytes);
  for (let offset = 0; offset < end; offset += 16) {
    const chunk = payload.subarray(offset, Math.min(offset + 16, end));
    const hex = [...chunk].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...chunk].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (payload.length > end) lines.push(`… ${payload.length - end} more bytes`);
  return lines.join('\n');
}

/** "12:03:04.512" in local time. */
export function clock(timeMs: number): string {
  const d = new Date(timeMs);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
