// Binary encodings devices use instead of JSON: CBOR (RFC 8949) and MessagePack. Each decoder
// reads untrusted bytes into a small tree and accepts the payload only when it is exactly one
// well-formed item (no bytes left over); the tree is shown in CBOR's diagnostic notation
// (RFC 8949 §8), which reads like JSON with byte strings, tags and the other extras spelled out.
// Bounded: nesting depth, item count, and lengths are checked against the bytes really there.

export type Item =
  | { t: 'int'; v: bigint }
  | { t: 'float'; v: number }
  | { t: 'bytes'; v: Uint8Array }
  | { t: 'text'; v: string }
  | { t: 'array'; items: Item[] }
  | { t: 'map'; entries: [Item, Item][] }
  | { t: 'tag'; tag: bigint; item: Item }
  | { t: 'ext'; type: number; data: Uint8Array }
  | { t: 'simple'; name: string };

/** Deeper nesting is refused (no real payload needs it; a hostile one could exhaust the stack). */
export const MAX_DEPTH = 64;
/** More items than this in one payload are refused. */
export const MAX_ITEMS = 100_000;

class Malformed extends Error {}

/** Reads big-endian numbers and byte runs, refusing to read past the end. */
class Reader {
  at = 0;
  items = 0;
  constructor(readonly bytes: Uint8Array) {}

  get left(): number {
    return this.bytes.length - this.at;
  }
  take(count: number): Uint8Array {
    if (count > this.left) throw new Malformed('truncated');
    const out = this.bytes.subarray(this.at, this.at + count);
    this.at += count;
    return out;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  uint(size: 1 | 2 | 4 | 8): bigint {
    const bytes = this.take(size);
    let value = 0n;
    for (const byte of bytes) value = (value << 8n) | BigInt(byte);
    return value;
  }
  view(size: 2 | 4 | 8): DataView {
    const bytes = this.take(size);
    return new DataView(bytes.buffer, bytes.byteOffset, size);
  }
  /** Counts one more item, refusing beyond `MAX_ITEMS`. */
  item(): void {
    this.items += 1;
    if (this.items > MAX_ITEMS) throw new Malformed('too many items');
  }
  /** A container's item count, when that many items of at least one byte each can be there. */
  room(count: bigint): number {
    if (count > BigInt(this.left)) throw new Malformed('more items announced than bytes left');
    return Number(count);
  }
  length(count: bigint): number {
    if (count > BigInt(this.left)) throw new Malformed('truncated');
    return Number(count);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new Malformed('invalid UTF-8 in a text string');
  }
}

/** An IEEE 754 half-precision float. */
function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function whole<T>(bytes: Uint8Array, read: (r: Reader) => T): T | null {
  if (bytes.length === 0) return null;
  const reader = new Reader(bytes);
  try {
    const item = read(reader);
    return reader.left === 0 ? item : null;
  } catch (error) {
    if (error instanceof Malformed || error instanceof RangeError) return null;
    throw error;
  }
}

// ---- CBOR ---------------------------------------------------------------------------------

const BREAK = Symbol('break');

function cborArgument(r: Reader, info: number): bigint | null {
  if (info < 24) return BigInt(info);
  if (info === 24) return r.uint(1);
  if (info === 25) return r.uint(2);
  if (info === 26) return r.uint(4);
  if (info === 27) return r.uint(8);
  if (info === 31) return null; // indefinite length
  throw new Malformed('reserved additional information');
}

function cborItem(r: Reader, depth: number): Item | typeof BREAK {
  if (depth > MAX_DEPTH) throw new Malformed('nested too deeply');
  r.item();
  const initial = r.u8();
  const major = initial >> 5;
  const info = initial & 0x1f;
  if (major === 7) {
    switch (info) {
      case 20:
        return { t: 'simple', name: 'false' };
      case 21:
        return { t: 'simple', name: 'true' };
      case 22:
        return { t: 'simple', name: 'null' };
      case 23:
        return { t: 'simple', name: 'undefined' };
      case 24: {
        const value = r.u8();
        if (value < 32) throw new Malformed('simple value in two bytes below 32');
        return { t: 'simple', name: `simple(${value})` };
      }
      case 25:
        return { t: 'float', v: half(r.view(2).getUint16(0)) };
      case 26:
        return { t: 'float', v: r.view(4).getFloat32(0) };
      case 27:
        return { t: 'float', v: r.view(8).getFloat64(0) };
      case 31:
        return BREAK;
      default:
        if (info < 20) return { t: 'simple', name: `simple(${info})` };
        throw new Malformed('reserved simple value');
    }
  }
  const argument = cborArgument(r, info);
  switch (major) {
    case 0:
    case 1:
      if (argument === null) throw new Malformed('indefinite integer');
      return { t: 'int', v: major === 0 ? argument : -1n - argument };
    case 2:
    case 3: {
      let bytes: Uint8Array;
      if (argument === null) {
        // Indefinite: definite chunks of the same major type until a break.
        const chunks: Uint8Array[] = [];
        for (;;) {
          const chunk = cborItem(r, depth + 1);
          if (chunk === BREAK) break;
          if (major === 2 && chunk.t === 'bytes') chunks.push(chunk.v);
          else if (major === 3 && chunk.t === 'text') chunks.push(new TextEncoder().encode(chunk.v));
          else throw new Malformed('a chunk of the wrong type');
        }
        bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const chunk of chunks) {
          bytes.set(chunk, at);
          at += chunk.length;
        }
      } else {
        bytes = r.take(r.length(argument));
      }
      return major === 2 ? { t: 'bytes', v: bytes } : { t: 'text', v: text(bytes) };
    }
    case 4: {
      const items: Item[] = [];
      if (argument === null) {
        for (;;) {
          const item = cborItem(r, depth + 1);
          if (item === BREAK) break;
          items.push(item);
        }
      } else {
        for (let i = r.room(argument); i > 0; i--) {
          items.push(definite(cborItem(r, depth + 1)));
        }
      }
      return { t: 'array', items };
    }
    case 5: {
      const entries: [Item, Item][] = [];
      if (argument === null) {
        for (;;) {
          const key = cborItem(r, depth + 1);
          if (key === BREAK) break;
          entries.push([key, definite(cborItem(r, depth + 1))]);
        }
      } else {
        for (let i = r.room(argument); i > 0; i--) {
          entries.push([definite(cborItem(r, depth + 1)), definite(cborItem(r, depth + 1))]);
        }
      }
      return { t: 'map', entries };
    }
    default: {
      // 6: a tag and the item it tags.
      if (argument === null) throw new Malformed('indefinite tag');
      return { t: 'tag', tag: argument, item: definite(cborItem(r, depth + 1)) };
    }
  }
}

function definite(item: Item | typeof BREAK): Item {
  if (item === BREAK) throw new Malformed('break outside an indefinite item');
  return item;
}

/** The payload as one CBOR item, or null when it is not exactly that. */
export function decodeCbor(bytes: Uint8Array): Item | null {
  return whole(bytes, (r) => definite(cborItem(r, 0)));
}

// ---- MessagePack ----------------------------------------------------------------------------

function msgpackItem(r: Reader, depth: number): Item {
  if (depth > MAX_DEPTH) throw new Malformed('nested too deeply');
  r.item();
  const b = r.u8();
  const array = (count: bigint): Item => {
    const items: Item[] = [];
    for (let i = r.room(count); i > 0; i--) items.push(msgpackItem(r, depth + 1));
    return { t: 'array', items };
  };
  const map = (count: bigint): Item => {
    const entries: [Item, Item][] = [];
    for (let i = r.room(count); i > 0; i--) {
      entries.push([msgpackItem(r, depth + 1), msgpackItem(r, depth + 1)]);
    }
    return { t: 'map', entries };
  };
  const str = (length: bigint): Item => ({ t: 'text', v: text(r.take(r.length(length))) });
  const bin = (length: bigint): Item => ({ t: 'bytes', v: r.take(r.length(length)) });
  const ext = (length: bigint): Item => {
    const type = (r.u8() << 24) >> 24; // signed
    return { t: 'ext', type, data: r.take(r.length(length)) };
  };
  const signed = (size: 1 | 2 | 4 | 8): Item => {
    const value = r.uint(size);
    const bits = BigInt(size * 8);
    return { t: 'int', v: BigInt.asIntN(Number(bits), value) };
  };
  if (b <= 0x7f) return { t: 'int', v: BigInt(b) };
  if (b <= 0x8f) return map(BigInt(b & 0x0f));
  if (b <= 0x9f) return array(BigInt(b & 0x0f));
  if (b <= 0xbf) return str(BigInt(b & 0x1f));
  if (b >= 0xe0) return { t: 'int', v: BigInt(b - 0x100) };
  switch (b) {
    case 0xc0:
      return { t: 'simple', name: 'null' };
    case 0xc2:
      return { t: 'simple', name: 'false' };
    case 0xc3:
      return { t: 'simple', name: 'true' };
    case 0xc4:
      return bin(r.uint(1));
    case 0xc5:
      return bin(r.uint(2));
    case 0xc6:
      return bin(r.uint(4));
    case 0xc7:
      return ext(r.uint(1));
    case 0xc8:
      return ext(r.uint(2));
    case 0xc9:
      return ext(r.uint(4));
    case 0xca:
      return { t: 'float', v: r.view(4).getFloat32(0) };
    case 0xcb:
      return { t: 'float', v: r.view(8).getFloat64(0) };
    case 0xcc:
      return { t: 'int', v: r.uint(1) };
    case 0xcd:
      return { t: 'int', v: r.uint(2) };
    case 0xce:
      return { t: 'int', v: r.uint(4) };
    case 0xcf:
      return { t: 'int', v: r.uint(8) };
    case 0xd0:
      return signed(1);
    case 0xd1:
      return signed(2);
    case 0xd2:
      return signed(4);
    case 0xd3:
      return signed(8);
    case 0xd4:
      return ext(1n);
    case 0xd5:
      return ext(2n);
    case 0xd6:
      return ext(4n);
    case 0xd7:
      return ext(8n);
    case 0xd8:
      return ext(16n);
    case 0xd9:
      return str(r.uint(1));
    case 0xda:
      return str(r.uint(2));
    case 0xdb:
      return str(r.uint(4));
    case 0xdc:
      return array(r.uint(2));
    case 0xdd:
      return array(r.uint(4));
    case 0xde:
      return map(r.uint(2));
    case 0xdf:
      return map(r.uint(4));
    default:
      throw new Malformed('0xc1 is never used'); // the only byte left
  }
}

/** The payload as one MessagePack item, or null when it is not exactly that. */
export function decodeMsgpack(bytes: Uint8Array): Item | null {
  return whole(bytes, (r) => msgpackItem(r, 0));
}

// ---- Diagnostic notation ---------------------------------------------------------------------

/** Byte strings longer than this are shown cut, with their length. */
const BYTES_SHOWN = 256;

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes.subarray(0, BYTES_SHOWN)) out += byte.toString(16).padStart(2, '0');
  return bytes.length > BYTES_SHOWN ? `h'${out}…' /* ${bytes.length} bytes */` : `h'${out}'`;
}

function float(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  const text = String(v);
  return /[.eE]/.test(text) ? text : `${text}.0`;
}

/** An item in diagnostic notation, indented by two spaces per level. */
export function diagnostic(item: Item, indent = ''): string {
  const inner = `${indent}  `;
  switch (item.t) {
    case 'int':
      return item.v.toString();
    case 'float':
      return float(item.v);
    case 'bytes':
      return hex(item.v);
    case 'text':
      return JSON.stringify(item.v);
    case 'simple':
      return item.name;
    case 'tag':
      return `${item.tag}(${diagnostic(item.item, indent)})`;
    case 'ext':
      return `ext(${item.type}, ${hex(item.data)})`;
    case 'array':
      return item.items.length === 0
        ? '[]'
        : `[\n${item.items.map((i) => inner + diagnostic(i, inner)).join(',\n')}\n${indent}]`;
    case 'map':
      return item.entries.length === 0
        ? '{}'
        : `{\n${item.entries
            .map(([k, v]) => `${inner}${diagnostic(k, inner)}: ${diagnostic(v, inner)}`)
            .join(',\n')}\n${indent}}`;
  }
}
