// Decode every QR code in a binary PGM (P5) image with jsQR, the reader the sign-in page uses; prints one per line.
// Usage: node decode_qr.mjs FILE.pgm LEFT TOP CELL_WIDTH CELL_HEIGHT  (a grid of cells from LEFT,TOP: one card each)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const jsQR = require(process.env.JSQR_PATH);
const file = process.argv[2];
const [left0, top0, cellW, cellH] = process.argv.slice(3, 7).map(Number);
const data = readFileSync(file);
const header = data.toString("latin1", 0, 64).match(/^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/);
const [width, height] = [Number(header[1]), Number(header[2])];
const pixels = data.subarray(header[0].length);
for (let top = top0; top + cellH <= height; top += cellH) {
  for (let left = left0; left + cellW <= width; left += cellW) {
    const rgba = new Uint8ClampedArray(cellW * cellH * 4);
    for (let y = 0; y < cellH; y++) for (let x = 0; x < cellW; x++) {
      const v = pixels[(top + y) * width + left + x], i = (y * cellW + x) * 4;
      rgba[i] = rgba[i + 1] = rgba[i + 2] = v; rgba[i + 3] = 255;
    }
    const code = jsQR(rgba, cellW, cellH);
    if (code) console.log(code.data);
  }
}
