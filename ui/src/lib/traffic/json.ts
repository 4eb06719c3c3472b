// Helpers of the collapsible JSON tree: what a parsed value is, its children (capped), and a
// leaf's text. Pure; everything becomes text nodes.

export type JsonType = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

/** A node shows at most this many children; the rest are counted. */
export const JSON_CHILD_LIMIT = 500;

export function jsonType(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'object':
      return 'object';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    default:
      return 'number';
  }
}

/** How many children an object or array has (0 for other values). */
export function childCount(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (value !== null && typeof value === 'object') return Object.keys(value).length;
  return 0;
}

/** The first `limit` children as [key, value] pairs (array indexes as keys) and how many more. */
export function children(
  value: unknown,
  limit = JSON_CHILD_LIMIT,
): { entries: [string, unknown][]; more: number } {
  let entries: [string, unknown][] = [];
  if (Array.isArray(value)) {
    entries = value.slice(0, limit).map((item, index): [string, unknown] => [String(index), item]);
  } else if (value !== null && typeof value === 'object') {
    entries = Object.entries(value).slice(0, limit);
  }
  return { entries, more: Math.max(0, childCount(value) - entries.length) };
}

/** A scalar as JSON shows it: strings quoted with escapes, so control characters stay visible. */
export function leafText(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
