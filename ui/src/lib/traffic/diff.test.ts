import { describe, expect, it } from 'vitest';
import { byteDiff, collapse, diffLines, diffStats, type DiffLine } from './diff';

const before = (lines: DiffLine[]) => lines.filter((l) => l.op !== 'added').map((l) => l.text);
const after = (lines: DiffLine[]) => lines.filter((l) => l.op !== 'removed').map((l) => l.text);

/** Length of the longest common subsequence, by the textbook table (for checking only). */
function lcs(a: string[], b: string[]): number {
  const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      table[i]![j] =
        a[i - 1] === b[j - 1]
          ? table[i - 1]![j - 1]! + 1
          : Math.max(table[i - 1]![j]!, table[i]![j - 1]!);
    }
  }
  return table[a.length]![b.length]!;
}

describe('line diff', () => {
  it('marks a changed line as removed and added, keeping the rest', () => {
    const diff = diffLines(
      ['{', '  "t": 21.5,', '  "h": 40', '}'],
      ['{', '  "t": 22,', '  "h": 40', '}'],
    );
    expect(diff).toEqual([
      { op: 'same', text: '{' },
      { op: 'removed', text: '  "t": 21.5,' },
      { op: 'added', text: '  "t": 22,' },
      { op: 'same', text: '  "h": 40' },
      { op: 'same', text: '}' },
    ]);
    expect(diffStats(diff)).toEqual({ added: 1, removed: 1 });
  });

  it('handles empty sides and identical input', () => {
    expect(diffLines([], [])).toEqual([]);
    expect(diffLines([], ['a'])).toEqual([{ op: 'added', text: 'a' }]);
    expect(diffLines(['a'], [])).toEqual([{ op: 'removed', text: 'a' }]);
    expect(diffStats(diffLines(['a', 'b'], ['a', 'b']))).toEqual({ added: 0, removed: 0 });
  });

  it('finds a shortest edit script (checked against LCS on random input)', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let round = 0; round < 300; round++) {
      const a = Array.from(
        { length: Math.floor(random() * 12) },
        () => 'abcd'[Math.floor(random() * 4)]!,
      );
      const b = Array.from(
        { length: Math.floor(random() * 12) },
        () => 'abcd'[Math.floor(random() * 4)]!,
      );
      const diff = diffLines(a, b);
      expect(before(diff)).toEqual(a);
      expect(after(diff)).toEqual(b);
      const { added, removed } = diffStats(diff);
      expect(added + removed).toBe(a.length + b.length - 2 * lcs(a, b));
    }
  });

  it('gives up on huge edit scripts but still returns a correct diff', () => {
    const a = Array.from({ length: 50 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 50 }, (_, i) => `b${i}`);
    const diff = diffLines(a, b, 10);
    expect(before(diff)).toEqual(a);
    expect(after(diff)).toEqual(b);
  });

  it('collapses long unchanged runs, keeping context around changes', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`);
    const changed = [...lines];
    changed[10] = 'changed';
    const shown = collapse(diffLines(lines, changed), 2);
    expect(shown.map((l) => (l.op === 'skip' ? `skip ${l.count}` : `${l.op} ${l.text}`))).toEqual([
      'skip 8',
      'same line 8',
      'same line 9',
      'removed line 10',
      'added changed',
      'same line 11',
      'same line 12',
      'skip 7',
    ]);
    // A single hidden line is shown rather than replaced by a marker.
    expect(collapse(diffLines(['a', 'b', 'x'], ['a', 'b', 'y']), 1).map((l) => l.op)).toEqual([
      'same',
      'same',
      'removed',
      'added',
    ]);
  });
});

describe('byte diff', () => {
  it('counts differing bytes and finds the first difference', () => {
    expect(byteDiff(new Uint8Array([1, 2, 3]), new Uint8Array([1, 9, 3, 4]))).toEqual({
      before: 3,
      after: 4,
      changed: 1,
      firstDifference: 1,
    });
    expect(byteDiff(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])).firstDifference).toBe(2);
    expect(byteDiff(new Uint8Array([1, 2]), new Uint8Array([1, 2])).firstDifference).toBeNull();
  });
});
