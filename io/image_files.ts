/**
 * Image files: decoding JPEG, PNG, WebP (and other still formats libvips
 * reads) into planar float RGB, and encoding by file extension, with
 * `sharp`. Honours EXIF orientation; converts greyscale, alpha (over white),
 * 16-bit and CMYK to RGB; refuses animations and images over a pixel limit
 * before decoding them. Node's file API, so it runs in Deno and Node.
 *
 * @module
 */

import { readFile, stat } from "node:fs/promises";
import sharp from "sharp";
import { type RgbImage, rgbImage } from "../mod.ts";
import { errorCode, firstLine, writeFileAtomic } from "./atomic_write.ts";

/** A one-line problem with an input or output image. */
export class ImageError extends Error {
  /** Creates the error; the message names the file and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "ImageError";
  }
}

/** Options of {@linkcode decodeImage} and {@linkcode readImage}. */
export interface DecodeOptions {
  /** Refuse images with more pixels than this (default 100 million). */
  maxPixels?: number;
  /** What transparent pixels are put over (default white; masks use black: transparent is outside). */
  background?: "white" | "black";
}

/** The default pixel limit: 100 megapixels. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** The one-line reason a file cannot be read. */
function readProblem(path: string, e: unknown): ImageError {
  const code = errorCode(e);
  if (code === "ENOENT") return new ImageError(`${path}: no such file`);
  if (code === "EACCES" || code === "EPERM") return new ImageError(`${path}: permission denied`);
  if (code === "EISDIR") return new ImageError(`${path}: is a directory, not an image file`);
  return new ImageError(`${path}: cannot read (${firstLine(e)})`);
}

/**
 * Reads and decodes an image file; every failure is an {@linkcode ImageError} naming `path`.
 *
 * @example
 * ```ts
 * import { readImage } from "../io.ts";
 * const photo = await readImage("examples/cat.jpg");
 * console.log(photo.width, photo.height);
 * ```
 */
export async function readImage(path: string, options: DecodeOptions = {}): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new ImageError(`${path}: is a directory, not an image file`);
    if (info.size === 0) throw new ImageError(`${path}: the file is empty`);
    bytes = await readFile(path);
  } catch (e) {
    throw e instanceof ImageError ? e : readProblem(path, e);
  }
  return await decodeImage(bytes, path, options);
}

/** Decodes image bytes; `label` (a file name) starts every error message. */
export async function decodeImage(
  bytes: Uint8Array,
  label: string,
  options: DecodeOptions = {},
): Promise<RgbImage> {
  const limit = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new ImageError(`${label}: the file is empty`);
  let meta: sharp.Metadata;
  try {
    // Reads the header only: a decompression bomb is refused before decoding.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    const why = firstLine(e);
    throw new ImageError(
      why.includes("unsupported image format")
        ? `${label}: not an image (unrecognised format); give a JPEG, PNG or WebP file`
        : `${label}: corrupt or truncated image (${why})`,
    );
  }
  const { width = 0, height = 0 } = meta;
  if (width < 1 || height < 1) {
    throw new ImageError(`${label}: the image has no pixels (${width}×${height})`);
  }
  if ((meta.pages ?? 1) > 1) {
    throw new ImageError(`${label}: is animated (${meta.pages} frames); give a still image`);
  }
  if (width * height > limit) {
    throw new ImageError(
      `${label}: ${width}×${height} is ${
        ((width * height) / 1e6).toFixed(1)
      } megapixels, over the ` +
        `${(limit / 1e6).toFixed(1)} MP limit; resize it or raise --max-pixels`,
    );
  }
  const deep = meta.depth === "ushort";
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: false, failOn: "error" })
      .rotate() // EXIF orientation
      .flatten({ background: options.background === "black" ? "#000000" : "#ffffff" })
      .toColourspace(deep ? "rgb16" : "srgb")
      .raw({ depth: deep ? "ushort" : "uchar" })
      .toBuffer({ resolveWithObject: true });
    const samples = deep
      ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const scale = deep ? 1 / 65535 : 1 / 255;
    const n = info.width * info.height;
    const c = info.channels;
    if (c < 3) throw new Error(`decoded to ${c} channel(s)`);
    const planar = new Float32Array(3 * n);
    for (let p = 0; p < n; p++) {
      planar[p] = samples[p * c] * scale;
      planar[n + p] = samples[p * c + 1] * scale;
      planar[2 * n + p] = samples[p * c + 2] * scale;
    }
    return rgbImage(info.width, info.height, planar);
  } catch (e) {
    throw new ImageError(`${label}: corrupt or truncated image (${firstLine(e)})`);
  }
}

const FORMATS: Record<string, "png" | "jpeg" | "webp"> = {
  ".png": "png",
  ".jpg": "jpeg",
  ".jpeg": "jpeg",
  ".webp": "webp",
};

/** The output format for a path, by its extension, or an error listing the allowed ones. */
export function formatOf(path: string): "png" | "jpeg" | "webp" {
  const ext = path.slice(path.lastIndexOf(".")).toLowerCase();
  const format = FORMATS[ext];
  if (!format || path.lastIndexOf(".") < path.lastIndexOf("/")) {
    throw new ImageError(`${path}: the output must end in .png, .jpg, .jpeg or .webp`);
  }
  return format;
}

/** Encodes an image in the format of `path`'s extension. */
export async function encodeImage(
  image: RgbImage,
  path: string,
  options: { quality?: number } = {},
): Promise<Uint8Array> {
  const format = formatOf(path);
  const n = image.width * image.height;
  const interleaved = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = image.data[c * n + p];
      interleaved[p * 3 + c] = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
    }
  }
  const pipeline = sharp(interleaved, {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  const quality = options.quality ?? 92;
  const out = format === "png"
    ? pipeline.png()
    : format === "jpeg"
    ? pipeline.jpeg({ quality, chromaSubsampling: "4:4:4" })
    : pipeline.webp({ quality });
  return new Uint8Array(await out.toBuffer());
}

/** Encodes and writes atomically: the file is either complete or not there. */
export async function writeImage(
  image: RgbImage,
  path: string,
  options: { quality?: number } = {},
): Promise<void> {
  const bytes = await encodeImage(image, path, options);
  await writeFileAtomic(path, bytes);
}
