// Sizes and durations as the capture view shows them.

/** Bytes in words: `950 B`, `12.3 kB`, `4.1 MB`, `2.0 GB`. */
export function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Milliseconds as `m:ss` or `h:mm:ss`. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** Topic filters typed with commas, spaces or newlines between them. */
export function filterList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((f) => f.trim())
    .filter((f) => f.length > 0);
}
