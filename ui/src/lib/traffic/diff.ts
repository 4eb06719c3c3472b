// Line diffs between two payloads (Myers' O(ND) algorithm on lines) and a byte summary for
// binary payloads. Pure; the results are rendered as text only.

export type DiffOp = 'same' | 'added' | 'removed';

export interface DiffLine {
  op: DiffOp;
  text: string;
}

/** A run of unchanged lines left out of the display. */
export interface DiffSkip {
  op: 'skip';
  count: number;
}

/**
 * The shortest edit script turning `a` into `b`, or null when it needs more than `maxEdits`
 * insertions and deletions (the work grows with their square).
 */
function myers(a: string[], b: string[], maxEdits: number): DiffLine[] | null {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] holds v for diagonals -d-1 … d+1 as it was before round d.
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(max, maxEdits); d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, d);
    }
  }
  return null;
}

function backtrack(a: string[], b: string[], trace: Int32Array[], edits: number): DiffLine[] {
  const out: DiffLine[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = edits; d > 0; d--) {
    const before = trace[d]!;
    const at = (k: number) => before[k + d + 1]!;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    const startX = down ? prevX : prevX + 1;
    while (x > startX) {
      out.push({ op: 'same', text: a[x - 1]! });
      x -= 1;
      y -= 1;
    }
    if (down) out.push({ op: 'added', text: b[prevY]! });
    else out.push({ op: 'removed', text: a[prevX]! });
    x = prevX;
    y = prevY;
  }
  while (x > 0) {
    out.push({ op: 'same', text: a[x - 1]! });
    x -= 1;
  }
  return out.reverse();
}

/**
 * Lines of `before` and `after` marked as unchanged, removed or added. Common leading and
 * trailing lines are matched first; when the rest needs more than `maxEdits` changes, it is
 * shown as all removed, then all added.
 */
export function diffLines(before: string[], after: string[], maxEdits = 1500): DiffLine[] {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) {
    start += 1;
  }
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore -= 1;
    endAfter -= 1;
  }
  const a = before.slice(start, endBefore);
  const b = after.slice(start, endAfter);
  const middle = myers(a, b, maxEdits) ?? [
    ...a.map((text): DiffLine => ({ op: 'removed', text })),
    ...b.map((text): DiffLine => ({ op: 'added', text })),
  ];
  return [
    ...before.slice(0, start).map((text): DiffLine => ({ op: 'same', text })),
    ...middle,
    ...before.slice(endBefore).map((text): DiffLine => ({ op: 'same', text })),
  ];
}

/** How many lines were added and removed. */
export function diffStats(lines: DiffLine[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const line of lines) {
    if (line.op === 'added') added += 1;
    else if (line.op === 'removed') removed += 1;
  }
  return { added, removed };
}

/**
 * Keeps `context` unchanged lines around each change and replaces longer unchanged runs by a
 * skip marker (only when that hides more than one line).
 */
export function collapse(lines: DiffLine[], context = 3): (DiffLine | DiffSkip)[] {
  const out: (DiffLine | DiffSkip)[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i]!.op !== 'same') {
      out.push(lines[i]!);
      i += 1;
      continue;
    }
    let end = i;
    while (end < lines.length && lines[end]!.op === 'same') end += 1;
    const keepBefore = i === 0 ? 0 : context; // context after the previous change
    const keepAfter = end === lines.length ? 0 : context; // context before the next change
    const hidden = end - i - keepBefore - keepAfter;
    if (hidden > 1) {
      out.push(...lines.slice(i, i + keepBefore));
      out.push({ op: 'skip', count: hidden });
      out.push(...lines.slice(end - keepAfter, end));
    } else {
      out.push(...lines.slice(i, end));
    }
    i = end;
  }
  return out;
}

export interface ByteDiff {
  before: number;
  after: number;
  /** Bytes that differ at the same offset, within the shorter payload. */
  changed: number;
  /** The first offset where the payloads differ (in content or length), or null if equal. */
  firstDifference: number | null;
}

/** A summary of how two binary payloads differ. */
export function byteDiff(before: Uint8Array, after: Uint8Array): ByteDiff {
  const shared = Math.min(before.length, after.length);
  let changed = 0;
  let firstDifference: number | null = null;
  for (let i = 0; i < shared; i++) {
    if (before[i] !== after[i]) {
      changed += 1;
      firstDifference ??= i;
    }
  }
  if (firstDifference === null && before.length !== after.length) firstDifference = shared;
  return { before: before.length, after: after.length, changed, firstDifference };
}
