/**
 * Image files: greyscale, alpha, 16-bit, CMYK and EXIF-rotated inputs become
 * the right RGB pixels; outputs take their format from the extension and
 * round-trip.
 */

import sharp from "sharp";
import { decodeImage, encodeImage, formatOf } from "../io/image_files.ts";
import { rgbImage } from "../mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./support/assert.ts";

const W = 6;
const H = 4;

/** The pixel (x, y) of a planar image as [r, g, b] in 0…255. */
function pixel(
  img: { width: number; height: number; data: Float32Array },
  x: number,
  y: number,
): number[] {
  const n = img.width * img.height;
  return [0, 1, 2].map((c) => Math.round(img.data[c * n + y * img.width + x] * 255));
}

Deno.test("greyscale becomes equal R, G and B", async () => {
  const grey = new Uint8Array(W * H).map((_, i) => i * 10);
  const png = await sharp(grey, { raw: { width: W, height: H, channels: 1 } }).png().toBuffer();
  const img = await decodeImage(new Uint8Array(png), "grey.png");
  assertEquals([img.width, img.height], [W, H]);
  assertEquals(pixel(img, 3, 2), [150, 150, 150]);
});

Deno.test("transparent pixels are put over white", async () => {
  const rgba = new Uint8Array(W * H * 4);
  for (let p = 0; p < W * H; p++) rgba.set([255, 0, 0, p === 0 ? 0 : p === 1 ? 128 : 255], p * 4);
  const png = await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer();
  const img = await decodeImage(new Uint8Array(png), "alpha.png");
  assertEquals(pixel(img, 0, 0), [255, 255, 255]); // fully transparent → white
  const half = pixel(img, 1, 0);
  assertEquals(half[0], 255);
  assert(
    Math.abs(half[1] - 127) <= 1 && Math.abs(half[2] - 127) <= 1,
    `half-transparent red: ${half}`,
  );
  assertEquals(pixel(img, 2, 0), [255, 0, 0]);
});

Deno.test("masks put transparent pixels over black: transparent is outside", async () => {
  const rgba = new Uint8Array(W * H * 4);
  for (let p = 0; p < W * H; p++) rgba.set([255, 255, 255, p === 0 ? 0 : 255], p * 4);
  const png = await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer();
  const img = await decodeImage(new Uint8Array(png), "mask.png", { background: "black" });
  assertEquals(pixel(img, 0, 0), [0, 0, 0]);
  assertEquals(pixel(img, 1, 0), [255, 255, 255]);
});

Deno.test("16-bit images keep their precision", async () => {
  // A 16-bit PNG (made by libvips from an 8-bit gradient) with one sample set
  // by hand between two 8-bit levels: it must come back at full precision.
  const rgb = new Uint8Array(W * H * 3).map((_, i) => i * 3);
  const png16 = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).toColourspace(
    "rgb16",
  )
    .raw({ depth: "ushort" }).toBuffer({ resolveWithObject: true });
  const samples = new Uint16Array(png16.data.buffer, png16.data.byteOffset, png16.data.length / 2)
    .slice();
  samples[0] = 1000; // 1000/65535 ≈ 3.89/255: not an 8-bit level
  const png = await sharp(samples, { raw: { width: W, height: H, channels: 3 } }).toColourspace(
    "rgb16",
  ).png()
    .toBuffer();
  assertEquals((await sharp(png).metadata()).depth, "ushort");
  const img = await decodeImage(new Uint8Array(png), "deep.png");
  assertAlmostEquals(img.data[0], 1000 / 65535, 1e-6);
});

Deno.test("CMYK JPEGs become RGB", async () => {
  const rgb = new Uint8Array(W * H * 3).map((_, i) => (i % 3 === 2 ? 200 : 30)); // blue-ish
  const jpeg = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).toColourspace("cmyk")
    .jpeg({ quality: 100 }).toBuffer();
  assertEquals((await sharp(jpeg).metadata()).space, "cmyk");
  const img = await decodeImage(new Uint8Array(jpeg), "cmyk.jpg");
  const [r, g, b] = pixel(img, 2, 2);
  // Colour management shifts the values a little; the hue must survive.
  assert(b > r + 60 && b > g + 60, `still blue-ish after CMYK → RGB: ${[r, g, b]}`);
});

Deno.test("EXIF orientation is applied (orientation 6: rotate 90° clockwise)", async () => {
  // Stored: left half red, right half blue. Shown upright (tall), the left
  // half becomes the top half.
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) rgb.set(x < W / 2 ? [255, 0, 0] : [0, 0, 255], (y * W + x) * 3);
  }
  const jpeg = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 100, chromaSubsampling: "4:4:4" }).withMetadata({ orientation: 6 }).toBuffer();
  const img = await decodeImage(new Uint8Array(jpeg), "rotated.jpg");
  assertEquals([img.width, img.height], [H, W]);
  const top = pixel(img, 1, 0);
  const bottom = pixel(img, 1, W - 1);
  assert(top[0] > 200 && top[2] < 60, `top is red: ${top}`);
  assert(bottom[2] > 200 && bottom[0] < 60, `bottom is blue: ${bottom}`);
});

Deno.test("outputs take their format from the extension and round-trip", async () => {
  const img = rgbImage(W, H, Float32Array.from({ length: 3 * W * H }, (_, i) => (i % 7) / 6));
  for (
    const [path, format] of [["a.png", "png"], ["b.JPG", "jpeg"], ["c.jpeg", "jpeg"], [
      "d.webp",
      "webp",
    ]]
  ) {
    assertEquals(formatOf(path), format);
    const bytes = await encodeImage(img, path);
    assertEquals((await sharp(bytes).metadata()).format, format);
  }
  const back = await decodeImage(await encodeImage(img, "x.png"), "x.png");
  back.data.forEach((v, i) => assertAlmostEquals(v, Math.round(img.data[i] * 255) / 255, 1e-6));
  assertThrows(() => formatOf("out.tiff"), "the output must end in .png, .jpg, .jpeg or .webp");
  assertThrows(() => formatOf("dir.png/out"), "the output must end in");
});
