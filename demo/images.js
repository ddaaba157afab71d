// Pictures for the demo: 28×28 grayscale pixels drawn to canvases, and uploaded images
// turned into Fashion-MNIST's form (a light object on a black background).

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

/** A canvas showing 28×28 grayscale pixels (scaled up by CSS). */
export function thumbnail(pixels, label) {
  const canvas = document.createElement('canvas');
  canvas.width = SIDE;
  canvas.height = SIDE;
  canvas.className = 'thumb';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < PIXELS; i++) {
    image.data.set([pixels[i], pixels[i], pixels[i], 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/**
 * An uploaded picture as 28×28 grayscale pixels: fitted into the square keeping its
 * aspect ratio, and inverted when its background is light (photos of clothes usually
 * are; Fashion-MNIST's backgrounds are black).
 * Throws an Error saying why when the file is not a decodable picture or has more than
 * `maxPixels` pixels (read from a PNG's header before decoding; other formats once decoded).
 * @param {Blob} file
 * @param {number} [maxPixels]
 * @returns {Promise<Uint8Array>}
 */
export async function pixelsFromImage(file, maxPixels = Infinity) {
  const tooLarge = ([w, h]) => new Error(`${w} × ${h} pixels is more than the ${maxPixels.toLocaleString('en')} this page takes`);
  const header = await pngSize(file);
  if (header && header[0] * header[1] > maxPixels) throw tooLarge(header);
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error('the picture could not be decoded');
  }
  if (bitmap.width * bitmap.height > maxPixels) {
    bitmap.close();
    throw tooLarge([bitmap.width, bitmap.height]);
  }
  const canvas = document.createElement('canvas');
  canvas.width = SIDE;
  canvas.height = SIDE;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const scale = Math.min(SIDE / bitmap.width, SIDE / bitmap.height);
  const w = bitmap.width * scale, h = bitmap.height * scale;
  // Pad with the image's own corner colour so the padding reads as background.
  ctx.drawImage(bitmap, 0, 0, 1, 1, 0, 0, SIDE, SIDE);
  ctx.drawImage(bitmap, (SIDE - w) / 2, (SIDE - h) / 2, w, h);
  bitmap.close();
  const { data } = ctx.getImageData(0, 0, SIDE, SIDE);
  const gray = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) {
    gray[i] = Math.round(0.299 * data[i * 4] + 0.587 * data[i * 4 + 1] + 0.114 * data[i * 4 + 2]);
  }
  let border = 0, count = 0;
  for (let i = 0; i < SIDE; i++) {
    for (const p of [i, (SIDE - 1) * SIDE + i, i * SIDE, i * SIDE + SIDE - 1]) {
      border += gray[p];
      count++;
    }
  }
  if (border / count > 127) for (let i = 0; i < PIXELS; i++) gray[i] = 255 - gray[i];
  return gray;
}

// Width and height from a PNG's header (IHDR, bytes 16 to 23) without decoding it; null
// for anything that is not a PNG.
async function pngSize(file) {
  const head = new Uint8Array(await file.slice(0, 24).arrayBuffer());
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (head.length < 24 || !signature.every((b, i) => head[i] === b)) return null;
  const view = new DataView(head.buffer);
  return [view.getUint32(16), view.getUint32(20)];
}
