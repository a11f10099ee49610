/**
 * Hand-made PNG files for tests of what a decoder must refuse: a header
 * claiming a huge size with almost no data (a decompression bomb), or extra
 * chunks spliced into a real PNG (an APNG's `acTL`).
 *
 * @module
 */

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
}

/** One PNG chunk: length, type, data, CRC. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
  return out;
}

/** A PNG whose header claims `w`×`h` pixels, with a token of data: refused before decoding. */
export function bombPng(w: number, h: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return concat([
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", new Uint8Array([120, 156, 3, 0, 0, 0, 0, 1])),
    pngChunk("IEND", new Uint8Array()),
  ]);
}

/** `png` with `chunk` inserted right after its IHDR chunk (8-byte signature + 25-byte IHDR). */
export function insertAfterIhdr(png: Uint8Array, chunk: Uint8Array): Uint8Array {
  return concat([png.subarray(0, 33), chunk, png.subarray(33)]);
}
