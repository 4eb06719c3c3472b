// What a payload is (image by magic bytes, JSON, text, or other bytes) and what to call it
// when saved. Pure functions over untrusted bytes.
import { VIEW_LIMIT } from './payload';
import { decodeText } from './text';

export type PayloadKind = 'png' | 'jpeg' | 'gif' | 'webp' | 'json' | 'text' | 'binary';

export interface ParsedJson {
  value: unknown;
  /** Pretty-printed with two spaces. */
  pretty: string;
}

export interface Detected {
  kind: PayloadKind;
  /** The image MIME type, for image kinds only. */
  mime: string | null;
  json: ParsedJson | null;
}

/** Larger payloads are not parsed as JSON (too slow to be worth it on every selection). */
export const JSON_PARSE_LIMIT = 8 * 1024 * 1024;

function startsWith(payload: Uint8Array, bytes: number[], at = 0): boolean {
  if (payload.length < at + bytes.length) return false;
  return bytes.every((byte, index) => payload[at + index] === byte);
}

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** The image type the magic bytes announce: PNG, JPEG, GIF or WebP; otherwise null. */
export function imageKind(payload: Uint8Array): 'png' | 'jpeg' | 'gif' | 'webp' | null {
  if (startsWith(payload, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(payload, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(payload, ascii('GIF87a')) || startsWith(payload, ascii('GIF89a'))) return 'gif';
  if (startsWith(payload, ascii('RIFF')) && startsWith(payload, ascii('WEBP'), 8)) return 'webp';
  return null;
}

const MIME: Record<'png' | 'jpeg' | 'gif' | 'webp', string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};

/** Pretty JSON and its value when the payload is a JSON object or array, otherwise null. */
export function parseJson(payload: Uint8Array): ParsedJson | null {
  if (payload.length > JSON_PARSE_LIMIT) return null;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(payload).trim();
  if (!text.startsWith('{') && !text.startsWith('[')) return null;
  try {
    const value: unknown = JSON.parse(text);
    return { value, pretty: JSON.stringify(value, null, 2) };
  } catch {
    return null;
  }
}

/** True when the payload reads as text: valid UTF-8 (in its first 64 KiB) without NUL bytes. */
export function looksLikeText(payload: Uint8Array): boolean {
  const head = payload.subarray(0, VIEW_LIMIT);
  if (head.includes(0)) return false;
  return decodeText(head, { cutAtEnd: payload.length > head.length }).invalid === 0;
}

export function detect(payload: Uint8Array): Detected {
  const image = imageKind(payload);
  if (image) return { kind: image, mime: MIME[image], json: null };
  const json = parseJson(payload);
  if (json) return { kind: 'json', mime: null, json };
  return { kind: looksLikeText(payload) ? 'text' : 'binary', mime: null, json: null };
}

const EXTENSION: Record<PayloadKind, string> = {
  json: 'json',
  png: 'png',
  jpeg: 'jpg',
  gif: 'gif',
  webp: 'webp',
  text: 'txt',
  binary: 'bin',
};

/**
 * A safe file name for a topic's payload: levels joined by "-", anything but letters, digits,
 * ".", "_" and "-" replaced by "_", no leading or trailing dots, at most 100 characters, and
 * the extension that fits what the payload is.
 */
export function fileName(topic: string, kind: PayloadKind): string {
  let base = topic
    .replace(/\//g, '-')
    .replace(/[^\p{L}\p{N}._-]+/gu, '_')
    .replace(/^[._-]+|[._-]+$/g, '');
  base = [...base]
    .slice(0, 100)
    .join('')
    .replace(/[._-]+$/, '');
  if (base === '') base = 'payload';
  if (/^(con|prn|aux|nul|com\d|lpt\d)$/i.test(base)) base += '_';
  return `${base}.${EXTENSION[kind]}`;
}
