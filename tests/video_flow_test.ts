/**
 * Optical flow and what the video driver builds on it: Farnebäck's flow
 * recovers a known shift, warping equals a plain bilinear loop, the
 * forward/backward consistency check marks disocclusions, borders and motion
 * boundaries, the flicker measure is the plain mean difference, and a region
 * the previous frame could not see takes an older output (long-term).
 */

import { maskImage, type RgbImage, rgbImage } from "../mod.ts";
import { type Flow, opticalFlow } from "../video/flow.ts";
import { warpImage } from "../video/warp.ts";
import { flowReliability } from "../video/reliability.ts";
import { temporalError } from "../video/flicker.ts";
import { warpedPrevious } from "../video/warped_previous.ts";
import { uniform } from "../core/random.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./support/assert.ts";

/** A smooth texture, shifted by (sx, sy) pixels: pixel x shows the texture at x − s. */
function texture(w: number, h: number, sx: number, sy: number): RgbImage {
  const n = w * h;
  const data = new Float32Array(3 * n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = x - sx;
      const v = y - sy;
      const g = 0.5 + 0.2 * Math.sin(u / 5) * Math.cos(v / 7) + 0.15 * Math.sin((u + 2 * v) / 11);
      for (let c = 0; c < 3; c++) data[c * n + y * w + x] = g * (0.8 + 0.1 * c);
    }
  }
  return rgbImage(w, h, data);
}

const constantFlow = (w: number, h: number, dx: number, dy: number): Flow => ({
  width: w,
  height: h,
  dx: new Float32Array(w * h).fill(dx),
  dy: new Float32Array(w * h).fill(dy),
});

Deno.test("Farnebäck's flow recovers a known shift in the frame's interior", async () => {
  const a = texture(96, 72, 0, 0);
  const b = texture(96, 72, 3, -2);
  // a's content at x is in b at x + (3, −2).
  const flow = await opticalFlow(a, b);
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 16; y < 56; y++) {
    for (let x = 16; x < 80; x++) {
      sx += flow.dx[y * 96 + x];
      sy += flow.dy[y * 96 + x];
      n++;
    }
  }
  assertAlmostEquals(sx / n, 3, 0.25);
  assertAlmostEquals(sy / n, -2, 0.25);
  const still = await opticalFlow(a, a);
  let largest = 0;
  for (let y = 16; y < 56; y++) {
    for (let x = 16; x < 80; x++) {
      const p = y * 96 + x;
      largest = Math.max(largest, Math.hypot(still.dx[p], still.dy[p]));
    }
  }
  assert(largest < 0.05, `a still frame's flow reaches ${largest} px`);
  await assertRejects(() => opticalFlow(a, texture(90, 72, 0, 0)), "frames of one size");
});

Deno.test("warping equals a plain bilinear loop; an integer flow moves pixels exactly", () => {
  const w = 9;
  const h = 7;
  const image = rgbImage(w, h, uniform(3 * w * h, 3, { lo: 0, hi: 1 }));
  const dx = uniform(w * h, 4, { lo: -3, hi: 3 });
  const dy = uniform(w * h, 5, { lo: -3, hi: 3 });
  const warped = warpImage(image, { width: w, height: h, dx, dy });
  const n = w * h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const sx = Math.min(w - 1, Math.max(0, x + dx[p]));
      const sy = Math.min(h - 1, Math.max(0, y + dy[p]));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      for (let c = 0; c < 3; c++) {
        const at = (xx: number, yy: number) =>
          image.data[c * n + Math.min(h - 1, yy) * w + Math.min(w - 1, xx)];
        const fx = sx - x0;
        const fy = sy - y0;
        const want = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
          fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
        assertAlmostEquals(warped.data[c * n + p], want, 1e-6);
      }
    }
  }
  const moved = warpImage(image, constantFlow(w, h, 2, 1));
  for (let c = 0; c < 3; c++) {
    assertEquals(moved.data[c * n + 2 * w + 3], image.data[c * n + 3 * w + 5]);
  }
});

Deno.test("consistency check: agreeing flows are reliable, disagreeing ones and the border are not", () => {
  const w = 20;
  const h = 10;
  // Frame t's pixel x came from x + (2, 0) in frame t−1; frame t−1's pixels moved by (−2, 0).
  const c = flowReliability(constantFlow(w, h, 2, 0), constantFlow(w, h, -2, 0));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) assertEquals(c.data[y * w + x], x + 2 <= w - 1 ? 1 : 0);
  }
  // A forward flow that does not send the pixels back: disocclusion everywhere.
  const wrong = flowReliability(constantFlow(w, h, 2, 0), constantFlow(w, h, 2, 0));
  assert(wrong.data.every((v) => v === 0));
  // A small disagreement (under 0.5 px²) is tolerated.
  const close = flowReliability(constantFlow(w, h, 2, 0), constantFlow(w, h, -1.5, 0));
  assertEquals(close.data[5 * w + 5], 1);
});

Deno.test("consistency check: motion boundaries of the backward flow are not reliable", () => {
  const w = 20;
  const h = 10;
  const backward = constantFlow(w, h, 0, 0);
  const forward = constantFlow(w, h, 0, 0);
  // The left half moves by 3 px, the right half stands still.
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < 10; x++) {
      backward.dx[y * w + x] = 3;
      forward.dx[y * w + x] = -3;
    }
  }
  const c = flowReliability(backward, forward);
  assertEquals(c.data[5 * w + 2], 1);
  assertEquals(c.data[5 * w + 15], 1);
  assertEquals(c.data[5 * w + 9], 0);
  assertEquals(c.data[5 * w + 10], 0);
});

Deno.test("temporal error is the plain mean difference over reliable pixels, in 0–255", () => {
  const w = 6;
  const h = 5;
  const n = w * h;
  const previous = rgbImage(w, h, uniform(3 * n, 8, { lo: 0, hi: 1 }));
  const current = rgbImage(w, h, uniform(3 * n, 9, { lo: 0, hi: 1 }));
  const reliability = maskImage(w, h, Float32Array.from({ length: n }, (_, i) => i % 2));
  const flow = constantFlow(w, h, 0, 0);
  let sum = 0;
  let count = 0;
  for (let p = 1; p < n; p += 2) {
    for (let c = 0; c < 3; c++) {
      sum += Math.abs(current.data[c * n + p] - previous.data[c * n + p]);
      count++;
    }
  }
  const got = temporalError(previous, current, { backward: flow, reliability });
  assertAlmostEquals(got, (255 * sum) / count, 1e-4);
  assertEquals(temporalError(current, current, { backward: flow, reliability }), 0);
});

Deno.test("long-term: a region the previous frame could not see takes an older output", async () => {
  const w = 96;
  const h = 72;
  const scene = texture(w, h, 0, 0);
  // The previous frame has a flat square over the middle; the one before it does not.
  const occluded = rgbImage(w, h, Float32Array.from(scene.data));
  for (let c = 0; c < 3; c++) {
    for (let y = 24; y < 48; y++) {
      for (let x = 36; x < 60; x++) occluded.data[c * w * h + y * w + x] = 0.05;
    }
  }
  const flat = (v: number) => rgbImage(w, h, new Float32Array(3 * w * h).fill(v));
  const previous = { output: flat(0.2), frame: occluded };
  const older = { output: flat(0.8), frame: scene };
  const short = await warpedPrevious([previous], scene);
  const long = await warpedPrevious([previous, older], scene);
  const at = (image: RgbImage, x: number, y: number) => image.data[y * w + x];
  // Away from the square the previous frame is reliable, and it is taken.
  assertEquals(short.reliability.data[10 * w + 10], 1);
  assertAlmostEquals(at(long.image, 10, 10), 0.2, 1e-6);
  // In the square's middle it is not; the older frame is, and it is taken.
  assertEquals(short.reliability.data[36 * w + 48], 0);
  assertEquals(long.reliability.data[36 * w + 48], 1);
  assertAlmostEquals(at(long.image, 48, 36), 0.8, 1e-6);
});
