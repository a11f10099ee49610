/**
 * Metadata stripping without re-encoding: EXIF (GPS, camera, dates), XMP,
 * IPTC, text chunks and comments are cut out of PNG, JPEG and WebP files;
 * the coded pixels and the colour information (ICC profile, gamma, JFIF,
 * Adobe colour transform) stay byte for byte, so a stored image decodes to
 * exactly the pixels the uploader saw.
 *
 * @module
 */

import type { ImageType } from "./storage.ts";

/** PNG chunks that only carry metadata. */
const PNG_METADATA = new Set(["eXIf", "tEXt", "zTXt", "iTXt", "tIME"]);

/** `bytes` without its metadata (the format given by its magic bytes). */
export function stripMetadata(bytes: Uint8Array, type: ImageType): Uint8Array {
  switch (type) {
    case "image/png":
      return stripPng(bytes);
    case "image/jpeg":
      return stripJpeg(bytes);
    case "image/webp":
      return stripWebp(bytes);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const fourcc = (bytes: Uint8Array, at: number) =>
  String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);

/** PNG: the signature, then chunks (length, type, data, CRC); metadata chunks are left out. */
function stripPng(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts = [bytes.subarray(0, 8)];
  let at = 8;
  while (at + 12 <= bytes.length) {
    const end = at + 12 + view.getUint32(at);
    if (end > bytes.length) break;
    if (!PNG_METADATA.has(fourcc(bytes, at + 4))) parts.push(bytes.subarray(at, end));
    at = end;
  }
  // Whatever follows the last whole chunk is kept as it is (the decoder has judged it).
  parts.push(bytes.subarray(at));
  return concat(parts);
}

/**
 * JPEG: markers up to the start of scan. APP1 (EXIF, XMP), APP3–APP13,
 * APP15 and comments go; APP0 (JFIF), APP2 (ICC profile), APP14 (Adobe) and
 * every coding segment stay.
 */
function stripJpeg(bytes: Uint8Array): Uint8Array {
  const parts = [bytes.subarray(0, 2)];
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xda) break; // start of scan: the rest is coded data
    const end = at + 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
    if (end > bytes.length) break;
    const app = marker >= 0xe0 && marker <= 0xef ? marker - 0xe0 : -1;
    const metadata = marker === 0xfe || (app >= 0 && app !== 0 && app !== 2 && app !== 14);
    if (!metadata) parts.push(bytes.subarray(at, end));
    at = end;
  }
  parts.push(bytes.subarray(at));
  return concat(parts);
}

/** WebP: RIFF chunks; EXIF and XMP go, and the VP8X header stops announcing them. */
function stripWebp(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 12;
  while (at + 8 <= bytes.length) {
    const size = bytes[at + 4] | (bytes[at + 5] << 8) | (bytes[at + 6] << 16) |
      (bytes[at + 7] << 24);
    const end = Math.min(bytes.length, at + 8 + size + (size & 1));
    const type = fourcc(bytes, at);
    if (type === "VP8X") {
      const chunk = bytes.slice(at, end);
      chunk[8] &= ~(0x08 | 0x04); // the EXIF and XMP flags
      parts.push(chunk);
    } else if (type !== "EXIF" && type !== "XMP ") {
      parts.push(bytes.subarray(at, end));
    }
    at = end;
  }
  const body = concat(parts);
  const header = bytes.slice(0, 12);
  new DataView(header.buffer).setUint32(4, body.length + 4, true);
  return concat([header, body]);
}
