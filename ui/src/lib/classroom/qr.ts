// A QR code as the dark modules to draw: `uqr` encodes the text into the module matrix; the panel
// draws each dark module as an SVG rect itself (no markup from strings, no {@html}).
import { encode } from 'uqr';

export interface QrModules {
  /** Width and height in modules, the quiet zone included. */
  size: number;
  /** Dark modules as [x, y]. */
  dark: [number, number][];
}

/** The modules of `text`'s QR code (error correction M: a projected or photographed code still
 * scans), with a four-module quiet zone. */
export function qrModules(text: string): QrModules {
  const { data, size } = encode(text, { ecc: 'M', border: 4 });
  const dark: [number, number][] = [];
  data.forEach((row, y) => row.forEach((on, x) => on && dark.push([x, y])));
  return { size, dark };
}
