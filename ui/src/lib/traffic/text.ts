// Payload bytes as text that hides nothing: a strict UTF-8 decoder that keeps every byte it
// cannot decode visible (as `\xNN`) and shows control characters as symbols, instead of
// dropping them or letting them vanish on screen. Pure; the result is only ever rendered as text.

/** A run of decoded text, or of bytes / characters that are shown as visible markers. */
export interface TextPiece {
  kind: 'text' | 'invalid' | 'control';
  text: string;
}

export interface DecodedText {
  pieces: TextPiece[];
  /** How many bytes were not valid UTF-8. */
  invalid: number;
  /** How many control characters were replaced by visible symbols. */
  controls: number;
}

/** The visible stand-in of a control character (line feed and tab stay as they are). */
export function controlMarker(codePoint: number): string | null {
  if (codePoint === 0x0a || codePoint === 0x09) return null;
  if (codePoint < 0x20) return String.fromCharCode(0x2400 + codePoint); // ␀ … ␟
  if (codePoint === 0x7f) return '\u2421'; // ␡
  if (codePoint >= 0x80 && codePoint <= 0x9f) {
    return `\\u${codePoint.toString(16).padStart(4, '0').toUpperCase()}`;
  }
  return null;
}

function hexByte(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0').toUpperCase()}`;
}

/**
 * Decodes UTF-8. Each byte that is not part of a valid sequence (stray continuation bytes,
 * overlong forms, surrogates, code points above U+10FFFF, cut-off sequences) becomes `\xNN`.
 * With `cutAtEnd` (the bytes are the start of a longer payload), a sequence that is only
 * incomplete because the bytes end is left out instead of being reported as invalid.
 */
export function decodeText(bytes: Uint8Array, options: { cutAtEnd?: boolean } = {}): DecodedText {
  const pieces: TextPiece[] = [];
  let invalid = 0;
  let controls = 0;
  let run = '';

  const push = (kind: TextPiece['kind'], text: string) => {
    if (kind === 'text') {
      run += text;
      return;
    }
    if (run) {
      pieces.push({ kind: 'text', text: run });
      run = '';
    }
    const last = pieces[pieces.length - 1];
    if (last && last.kind === kind) last.text += text;
    else pieces.push({ kind, text });
  };

  const length = bytes.length;
  let i = 0;
  while (i < length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      const marker = controlMarker(lead);
      if (marker) {
        controls += 1;
        push('control', marker);
      } else {
        push('text', String.fromCharCode(lead));
      }
      i += 1;
      continue;
    }

    // Expected continuation bytes and the allowed range of the first one (RFC 3629).
    let need = 0;
    let low = 0x80;
    let high = 0xbf;
    let codePoint = 0;
    if (lead >= 0xc2 && lead <= 0xdf) {
      need = 1;
      codePoint = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      need = 2;
      codePoint = lead & 0x0f;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      need = 3;
      codePoint = lead & 0x07;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    }

    let valid = need > 0;
    let cut = false;
    for (let k = 1; valid && k <= need; k++) {
      if (i + k >= length) {
        cut = true;
        valid = false;
        break;
      }
      const next = bytes[i + k]!;
      const min = k === 1 ? low : 0x80;
      const max = k === 1 ? high : 0xbf;
      if (next < min || next > max) valid = false;
      else codePoint = (codePoint << 6) | (next & 0x3f);
    }

    if (valid) {
      const marker = controlMarker(codePoint);
      if (marker) {
        controls += 1;
        push('control', marker);
      } else {
        push('text', String.fromCodePoint(codePoint));
      }
      i += need + 1;
    } else if (cut && options.cutAtEnd) {
      break; // the rest of the character is beyond the shown part
    } else {
      invalid += 1;
      push('invalid', hexByte(lead));
      i += 1;
    }
  }
  if (run) pieces.push({ kind: 'text', text: run });
  return { pieces, invalid, controls };
}

/** The decoded text as one string, markers included (for diffs and copies of what is shown). */
export function visibleText(decoded: DecodedText): string {
  return decoded.pieces.map((piece) => piece.text).join('');
}
