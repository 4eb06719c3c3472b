// The bytes a composer payload will send, as the backend will make them: text and JSON as UTF-8,
// hex digits (whitespace, ':' and 0x prefixes between bytes allowed), standard or URL-safe
// Base64 (padding optional). Null for input the composer's own check refuses.

/** Hex digits to bytes; null when they are not whole bytes of hex. */
export function hexBytes(text: string): Uint8Array | null {
  const digits = text.replace(/0[xX]([0-9a-fA-F])/g, '$1').replace(/[\s:]/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) return null;
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Base64 (standard or URL-safe, padding optional) to bytes; null when it is not Base64. */
export function base64Bytes(text: string): Uint8Array | null {
  let data = text.replace(/\s/g, '').replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (/[^A-Za-z0-9+/]/.test(data) || data.length % 4 === 1) return null;
  data += '='.repeat((4 - (data.length % 4)) % 4);
  try {
    const binary = atob(data);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** The bytes of a payload written in `format`; null when it cannot be read. */
export function payloadBytes(format: string, text: string): Uint8Array | null {
  switch (format) {
    case 'hex':
      return hexBytes(text);
    case 'base64':
    case 'file':
      return base64Bytes(text);
    default:
      return new TextEncoder().encode(text);
  }
}
