// Which numbers a message offers to chart: the payload itself when it is a number (or a
// boolean), and each numeric or boolean field of a JSON payload, named by its JSON pointer
// (RFC 6901), the form the backend reads them by. Pure; bounded however large the payload.

/** At most this many fields are offered. */
export const FIELD_LIMIT = 50;
/** Objects and arrays deeper than this are not searched. */
export const FIELD_DEPTH = 8;
/** Only the first children of each object or array are searched. */
const CHILD_LIMIT = 100;

/** A JSON pointer's reference token for a key: `~` as `~0`, `/` as `~1`. */
export function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

const chartable = (value: unknown) => typeof value === 'number' || typeof value === 'boolean';

/**
 * The pointers of the chartable values in a parsed JSON payload, in document order: '' when the
 * payload itself is one, else '/a', '/list/0/b' and so on.
 */
export function numericFields(value: unknown, limit = FIELD_LIMIT): string[] {
  if (chartable(value)) return [''];
  const found: string[] = [];
  const walk = (node: unknown, path: string, depth: number) => {
    if (found.length >= limit || depth > FIELD_DEPTH || node === null || typeof node !== 'object') {
      return;
    }
    const entries: [string, unknown][] = Array.isArray(node)
      ? node.slice(0, CHILD_LIMIT).map((item, index) => [String(index), item])
      : Object.entries(node).slice(0, CHILD_LIMIT);
    for (const [key, child] of entries) {
      if (found.length >= limit) return;
      const pointer = `${path}/${pointerToken(key)}`;
      if (chartable(child)) found.push(pointer);
      else walk(child, pointer, depth + 1);
    }
  };
  walk(value, '', 1);
  return found;
}

/**
 * Whether a whole payload reads as one number or boolean (`21.5`, ` -7 `, `1e3`, `true`), as a
 * device publishing a bare reading sends it: such a payload can be charted as itself.
 */
export function isNumberPayload(payload: Uint8Array): boolean {
  if (payload.length === 0 || payload.length > 64) return false;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(payload).trim();
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || text === 'true' || text === 'false';
}
