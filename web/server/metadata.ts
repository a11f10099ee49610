/**
 * Metadata stripping without re-encoding: EXIF (GPS, camera, dates), XMP,
 * IPTC, text chunks and comments are cut out of PNG, JPEG and WebP files;
 * the coded pixels and the colour information (ICC profile, gamma, JFIF,
 * Adobe colour transform) stay byte for byte, so a stored image decodes to
 * exactly the pixels the uploader saw. Whatever follows the end of the image
 * (PNG `IEND`, JPEG EOI, the RIFF size of a WebP) is dropped: appended
 * images, gain maps and video trailers carry metadata of their own.
 *
 * Every walk is linear in the input, never throws and always advances, on
 * any bytes at all: on anything malformed it keeps what a decoder could still
 * need and stops.
 *
 * @module
 */

import type { ImageType } from "./storage.ts";

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

/** The four bytes at `at` as text (missing bytes read as NUL). */
const fourcc = (bytes: Uint8Array, at: number) =>
  String.fromCharCode(
    bytes[at] ?? 0,
    bytes[at + 1] ?? 0,
    bytes[at + 2] ?? 0,
    bytes[at + 3] ?? 0,
  );

/** Whether `bytes[at, end)` starts with the ASCII text `prefix`. */
function startsWith(bytes: Uint8Array, at: number, end: number, prefix: string): boolean {
  if (end - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[at + i] !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

const viewOf = (bytes: Uint8Array) =>
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

// PNG ------------------------------------------------------------------------

/**
 * Ancillary PNG chunks that are kept: colour, transparency and layout. Every
 * other ancillary chunk (eXIf, tEXt, zTXt, iTXt, tIME, private ones such as
 * C2PA's caBX) is left out; decoders ignore unknown ancillary chunks, so the
 * pixels stay. Critical chunks (an upper-case first letter) always stay.
 */
const PNG_KEPT = new Set([
  "tRNS",
  "gAMA",
  "cHRM",
  "sRGB",
  "iCCP",
  "cICP",
  "mDCV",
  "mDCv",
  "cLLI",
  "cLLi",
  "sBIT",
  "bKGD",
  "pHYs",
  "hIST",
  "sPLT",
  "acTL",
  "fcTL",
  "fdAT",
]);

const isCritical = (bytes: Uint8Array, at: number) => ((bytes[at] ?? 0) & 0x20) === 0;

/**
 * PNG: the signature, then chunks (length, type, data, CRC) up to `IEND`;
 * metadata chunks are left out and nothing after `IEND` is kept. A last
 * chunk that runs past the end stays as it is when it is a critical one (the
 * decoder has judged it) and goes otherwise.
 */
function stripPng(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 8) return bytes.slice();
  const view = viewOf(bytes);
  const parts = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) {
      // Not even a whole chunk header and CRC.
      if (at + 8 <= bytes.length && isCritical(bytes, at + 4)) parts.push(bytes.subarray(at));
      break;
    }
    // Unsigned, and at most 2³² + 12 on top of `at`: no overflow in a double.
    const end = at + 12 + view.getUint32(at);
    const type = fourcc(bytes, at + 4);
    if (end > bytes.length) {
      if (isCritical(bytes, at + 4)) parts.push(bytes.subarray(at));
      break;
    }
    if (isCritical(bytes, at + 4) || PNG_KEPT.has(type)) parts.push(bytes.subarray(at, end));
    if (type === "IEND") break;
    at = end;
  }
  return concat(parts);
}

// JPEG -----------------------------------------------------------------------

const JPEG_EOI = new Uint8Array([0xff, 0xd9]);

/**
 * Whether the marker segment `marker` with data `bytes[data, end)` only
 * carries metadata: comments, and every APPn but a JFIF APP0, an ICC profile
 * APP2 and an Adobe APP14 (the ones decoders read for colour).
 */
function jpegMetadata(marker: number, bytes: Uint8Array, data: number, end: number): boolean {
  if (marker === 0xfe) return true; // COM
  if (marker < 0xe0 || marker > 0xef) return false;
  switch (marker - 0xe0) {
    case 0:
      return !startsWith(bytes, data, end, "JFIF\0"); // JFXX thumbnails, AVI1, …
    case 2:
      // "ICC_PROFILE\0" (libvips takes the profile without looking at the NUL): MPF, FlashPix, … go.
      return !startsWith(bytes, data, end, "ICC_PROFILE");
    case 14:
      return !startsWith(bytes, data, end, "Adobe");
    default:
      return true; // EXIF and XMP (APP1), JPEG XT and C2PA (APP11), IPTC (APP13), …
  }
}

/** A JFIF APP0 segment `bytes[at, end)` without its thumbnail (a picture of its own). */
function jfifWithoutThumbnail(bytes: Uint8Array, at: number, end: number): Uint8Array {
  // FF E0, length (16), "JFIF\0", version (2), units, X and Y density (2 each), thumbnail size (2).
  if (end - at <= 18) return bytes.subarray(at, end);
  const segment = bytes.slice(at, at + 18);
  segment[2] = 0;
  segment[3] = 16;
  segment[16] = segment[17] = 0;
  return segment;
}

/**
 * Where the entropy-coded data from `at` ends: at the first marker, a 0xFF
 * (after any fill 0xFF bytes) followed by neither a stuffed 0x00 nor a
 * restart marker RST0–RST7, which belong to the coded data.
 */
function entropyEnd(bytes: Uint8Array, at: number): number {
  let i = at;
  while (i < bytes.length) {
    i = bytes.indexOf(0xff, i);
    if (i < 0) return bytes.length;
    let j = i + 1;
    while (j < bytes.length && bytes[j] === 0xff) j++;
    if (j >= bytes.length) return i;
    const next = bytes[j];
    if (next !== 0x00 && (next < 0xd0 || next > 0xd7)) return i;
    i = j + 1;
  }
  return bytes.length;
}

/**
 * JPEG: the marker segments and the coded data of every scan, to the end of
 * the image (EOI); comments and APPn segments other than JFIF, ICC profile
 * and Adobe go wherever they stand (also between progressive scans), and
 * nothing after EOI is kept (appended EXIF images, MPF and gain-map images,
 * Motion Photo videos). Bytes where a marker should be are skipped, as
 * libjpeg does; a segment that runs past the end is kept as it is unless it
 * is metadata (then it goes and EOI ends the image), and the walk stops there.
 */
function stripJpeg(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n < 2 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return bytes.slice();
  const parts = [bytes.subarray(0, 2)];
  let at = 2;
  while (at < n) {
    if (bytes[at] !== 0xff) {
      // Not a marker: extraneous bytes, which decoders skip to the next marker.
      const next = bytes.indexOf(0xff, at);
      at = next < 0 ? n : next;
      continue;
    }
    let m = at + 1;
    while (m < n && bytes[m] === 0xff) m++; // fill bytes
    if (m >= n) break;
    const marker = bytes[m];
    const start = m - 1;
    if (marker === 0x00) {
      at = m + 1; // a stuffed zero outside a scan: extraneous too
      continue;
    }
    if (marker === 0xd9) {
      parts.push(JPEG_EOI);
      break; // end of image: whatever follows is not part of it
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      parts.push(bytes.subarray(start, m + 1)); // TEM, RSTn, SOI: no length
      at = m + 1;
      continue;
    }
    const length = m + 2 < n ? (bytes[m + 1] << 8) | bytes[m + 2] : -1;
    const end = start + 2 + length;
    const metadata = jpegMetadata(marker, bytes, start + 4, Math.min(end, n));
    if (length < 2 || end > n) {
      // A bogus length or a segment cut short: no further walk is possible. A
      // decoder stops there too: metadata goes, and the image ends.
      parts.push(metadata ? JPEG_EOI : bytes.subarray(start));
      break;
    }
    if (!metadata) {
      parts.push(
        marker === 0xe0 ? jfifWithoutThumbnail(bytes, start, end) : bytes.subarray(start, end),
      );
    }
    at = end;
    if (marker === 0xda) {
      // Start of scan: its coded data runs to the next marker.
      const stop = entropyEnd(bytes, at);
      parts.push(bytes.subarray(at, stop));
      at = stop;
    }
  }
  return concat(parts);
}

// WebP -----------------------------------------------------------------------

/**
 * WebP chunks that are kept: the image data, alpha, animation and the ICC
 * profile. EXIF, XMP and unknown chunks (which decoders skip) go.
 */
const WEBP_KEPT = new Set(["VP8X", "VP8 ", "VP8L", "ALPH", "ANIM", "ANMF", "ICCP"]);

/**
 * WebP: RIFF chunks within the RIFF size (anything after it is dropped);
 * EXIF, XMP and unknown chunks go, and the VP8X header stops announcing EXIF
 * and XMP. A last chunk that runs past the end is kept, cut at the end, when
 * it is image data, and goes otherwise.
 */
function stripWebp(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 12) return bytes.slice();
  const view = viewOf(bytes);
  const limit = Math.min(bytes.length, 8 + view.getUint32(4, true));
  const parts: Uint8Array[] = [];
  let at = 12;
  while (at + 8 <= limit) {
    const size = view.getUint32(at + 4, true); // unsigned: at + 8 + size always advances
    const end = at + 8 + size + (size & 1);
    const type = fourcc(bytes, at);
    const kept = WEBP_KEPT.has(type);
    if (end > limit) {
      if (kept) parts.push(bytes.subarray(at, limit));
      break;
    }
    if (type === "VP8X" && size >= 1) {
      const chunk = bytes.slice(at, end);
      chunk[8] &= ~(0x08 | 0x04); // the EXIF and XMP flags
      parts.push(chunk);
    } else if (kept) {
      parts.push(bytes.subarray(at, end));
    }
    at = end;
  }
  const body = concat(parts);
  const header = bytes.slice(0, 12);
  new DataView(header.buffer).setUint32(4, body.length + 4, true);
  return concat([header, body]);
}
