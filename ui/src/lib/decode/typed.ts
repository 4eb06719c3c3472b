// A binary payload read as an array of fixed-size numbers: int8…int64, uint8…uint64, float32 or
// float64, big or little endian, from a byte offset. Bytes left over at the end (fewer than one
// element) are reported, never guessed at; at most `MAX_VALUES` values are read.

export const TYPES = [
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
] as const;
export type NumberType = (typeof TYPES)[number];

/** Values past this many are not read (the count says how many there are). */
export const MAX_VALUES = 10_000;

export interface TypedReading {
  /** The values as text (64-bit integers exactly, floats as JavaScript prints them). */
  values: string[];
  /** Elements the bytes hold from the offset. */
  total: number;
  /** Bytes at the end too few for one more element. */
  leftover: number;
}

export function sizeOf(type: NumberType): number {
  switch (type) {
    case 'int8':
    case 'uint8':
      return 1;
    case 'int16':
    case 'uint16':
      return 2;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 4;
    default:
      return 8;
  }
}

function read(view: DataView, at: number, type: NumberType, little: boolean): string {
  switch (type) {
    case 'int8':
      return String(view.getInt8(at));
    case 'uint8':
      return String(view.getUint8(at));
    case 'int16':
      return String(view.getInt16(at, little));
    case 'uint16':
      return String(view.getUint16(at, little));
    case 'int32':
      return String(view.getInt32(at, little));
    case 'uint32':
      return String(view.getUint32(at, little));
    case 'int64':
      return view.getBigInt64(at, little).toString();
    case 'uint64':
      return view.getBigUint64(at, little).toString();
    case 'float32':
      return String(view.getFloat32(at, little));
    case 'float64':
      return String(view.getFloat64(at, little));
  }
}

/** `bytes` from `offset` as `type`s; an offset past the end reads nothing. */
export function readTyped(
  bytes: Uint8Array,
  type: NumberType,
  littleEndian: boolean,
  offset = 0,
): TypedReading {
  const start = Math.max(0, Math.min(Math.floor(offset) || 0, bytes.length));
  const size = sizeOf(type);
  const length = bytes.length - start;
  const total = Math.floor(length / size);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, length);
  const values: string[] = [];
  for (let i = 0; i < Math.min(total, MAX_VALUES); i++) {
    values.push(read(view, i * size, type, littleEndian));
  }
  return { values, total, leftover: length - total * size };
}
