// Saving what a teaching view shows into the Downloads folder: text (SVG, Mermaid) as it is, and
// an SVG drawn into a PNG at twice its size, for slides.
import type { Platform } from '../platform';

export function saveText(platform: Platform, fileName: string, text: string): Promise<string> {
  return platform.saveToDownloads(fileName, new TextEncoder().encode(text));
}

/** Draws `svg` on a canvas at twice its size and saves it as PNG. */
export function savePng(platform: Platform, fileName: string, svg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
    const image = new Image();
    image.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error('the diagram could not be drawn as an image'));
    };
    image.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(1, image.naturalWidth * 2);
      canvas.height = Math.max(1, image.naturalHeight * 2);
      const context = canvas.getContext('2d');
      URL.revokeObjectURL(url);
      if (!context) {
        reject(new Error('no canvas to draw on'));
        return;
      }
      context.scale(2, 2);
      context.drawImage(image, 0, 0);
      canvas.toBlob(async (blob) => {
        if (!blob) {
          reject(new Error('the image could not be encoded'));
          return;
        }
        try {
          resolve(await platform.saveToDownloads(fileName, new Uint8Array(await blob.arrayBuffer())));
        } catch (e) {
          reject(e);
        }
      }, 'image/png');
    };
    image.src = url;
  });
}
