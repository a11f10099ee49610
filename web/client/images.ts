/**
 * Images in the browser: a picked, dropped or pasted file becomes bytes (what
 * a share stores) and the pixels decoded from exactly those bytes (what the
 * run uses), so a shared link reproduces the run. Every picture is re-encoded
 * (scaled down when large), which also drops its metadata.
 *
 * @module
 */

import { rgbaToPlanar } from "./pixels.ts";

/** An image ready to use and to share. */
export interface PickedImage {
  /** File name, for labels. */
  readonly name: string;
  /** The bytes (PNG, JPEG or WebP) the pixels come from. */
  readonly bytes: Uint8Array;
  /** Their MIME type. */
  readonly type: string;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Planar RGB floats in [0, 1]. */
  readonly planar: Float32Array;
  /** An object URL of the bytes, for thumbnails. */
  readonly url: string;
}

/** Options of {@linkcode pickImage}. */
export interface PickOptions {
  /** Scale down so the longer side is at most this (default 1024). */
  maxSide?: number;
  /** Use JPEG instead of PNG when the PNG would be larger than this (default 3 MB). */
  maxBytes?: number;
}

/** The image type by magic bytes, or undefined. */
export function sniffImageType(bytes: Uint8Array): string | undefined {
  const b = bytes;
  if (b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    return "image/png";
  }
  if (b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (
    b.length > 12 && String.fromCharCode(...b.subarray(0, 4)) === "RIFF" &&
    String.fromCharCode(...b.subarray(8, 12)) === "WEBP"
  ) {
    return "image/webp";
  }
  return undefined;
}

async function decode(bytes: Uint8Array, type: string): Promise<ImageBitmap> {
  try {
    return await createImageBitmap(new Blob([bytes as BlobPart], { type }), {
      imageOrientation: "from-image",
    });
  } catch {
    throw new Error("the image could not be decoded (corrupt or truncated?)");
  }
}

/** Reads a picked/dropped/pasted file. Throws a one-line message for anything unusable. */
export async function pickImage(
  file: Blob,
  name: string,
  options: PickOptions = {},
): Promise<PickedImage> {
  const maxSide = options.maxSide ?? 1024;
  const maxBytes = options.maxBytes ?? 3_000_000;
  if (file.size === 0) throw new Error(`${name}: the file is empty`);
  const original = new Uint8Array(await file.arrayBuffer());
  const originalType = sniffImageType(original);
  if (!originalType) throw new Error(`${name}: not a PNG, JPEG or WebP image`);
  // Always re-encode from a canvas: the orientation is applied and metadata
  // (EXIF, GPS) never reaches a share. Small images become lossless PNGs;
  // large ones are scaled down to a JPEG.
  const source = await decode(original, originalType);
  const long = Math.max(source.width, source.height);
  const scale = Math.min(1, maxSide / long);
  const w = Math.max(1, Math.round(source.width * scale));
  const h = Math.max(1, Math.round(source.height * scale));
  const canvas0 = new OffscreenCanvas(w, h);
  const g0 = canvas0.getContext("2d")!;
  g0.imageSmoothingQuality = "high";
  g0.drawImage(source, 0, 0, w, h);
  source.close();
  let type = "image/png";
  let bytes = new Uint8Array(await (await canvas0.convertToBlob({ type })).arrayBuffer());
  if (bytes.length > maxBytes) {
    type = "image/jpeg";
    bytes = new Uint8Array(
      await (await canvas0.convertToBlob({ type, quality: 0.92 })).arrayBuffer(),
    );
  }
  // The pixels come from the bytes that will be shared.
  const bitmap = await decode(bytes, type);
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext("2d")!;
  g.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = g.getImageData(0, 0, width, height).data;
  return {
    name,
    bytes,
    type,
    width,
    height,
    planar: rgbaToPlanar(rgba, width, height),
    url: URL.createObjectURL(new Blob([bytes as BlobPart], { type })),
  };
}

/** PNG bytes of RGBA pixels. */
export async function encodePng(
  rgba: Uint8ClampedArray,
  width: number,
  height: number,
): Promise<Blob> {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext("2d")!.putImageData(
    new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, width, height),
    0,
    0,
  );
  return await canvas.convertToBlob({ type: "image/png" });
}
