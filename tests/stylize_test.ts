/**
 * The driver: a few iterations on the tiny network lower the cost, scales run
 * coarse to fine, seeds make runs repeatable, previews and cancellation work,
 * texture synthesis and preserved colours give the right kinds of images.
 */

import {
  content,
  type ProgressEvent,
  type RgbImage,
  rgbImage,
  style,
  stylize,
  tv,
} from "../mod.ts";
import { combineLuminance } from "../core/color.ts";
import { resizeImage } from "../core/image.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { uniform } from "../core/random.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./support/assert.ts";

const network = new FeatureNetwork(TINY, randomWeights(TINY, 7));

/** A smooth test picture: gradients and a disc, so content has structure. */
function picture(w: number, h: number, seed: number): RgbImage {
  const data = new Float32Array(3 * w * h);
  const noise = uniform(3 * w * h, seed, { lo: -0.05, hi: 0.05 });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const disc = (x - w / 2) ** 2 + (y - h / 2) ** 2 < (w / 4) ** 2 ? 0.4 : 0;
      const p = y * w + x;
      data[p] = Math.min(1, Math.max(0, x / w * 0.6 + disc + noise[p]));
      data[w * h + p] = Math.min(1, Math.max(0, y / h * 0.6 + noise[w * h + p]));
      data[2 * w * h + p] = Math.min(1, Math.max(0, 0.5 - disc + noise[2 * w * h + p]));
    }
  }
  return rgbImage(w, h, data);
}

const contentImage = picture(40, 30, 1);
const stripes = rgbImage(
  24,
  24,
  Float32Array.from({ length: 3 * 576 }, (_, i) => ((i % 24) >> 2) % 2),
);
const plugins = [content.use({}, 1), style.use({}, 1e3), tv.use({}, 1e-3)];
const base = { size: 32, iterations: 12, scales: 1, backend: "wasm" as const, previewEvery: 0 };

Deno.test("a run lowers the total cost and keeps pixels in [0, 1]", async () => {
  const events: ProgressEvent[] = [];
  const r = await stylize(
    { network, plugins, content: contentImage, styles: [stripes], settings: base },
    { onProgress: (e) => events.push(e) },
  );
  const its = events.filter((e) => e.type === "iteration");
  assertEquals(its.length, 12);
  assert(its[its.length - 1].total < its[0].total, "total decreased");
  assertEquals([r.image.width, r.image.height], [32, 24]);
  assert(r.image.data.every((v) => v >= 0 && v <= 1), "pixels in range");
  assertEquals(Object.keys(r.terms), ["content", "style", "tv"]);
  assertEquals(r.backend, "wasm");
});

Deno.test("scales run coarse to fine, each starting from the last", async () => {
  const events: ProgressEvent[] = [];
  await stylize(
    {
      network,
      plugins,
      content: contentImage,
      styles: [stripes],
      settings: { ...base, size: 40, scales: 3, minSize: 16, iterations: 3 },
    },
    { onProgress: (e) => events.push(e) },
  );
  const scales = events.filter((e) => e.type === "scale").map((e) =>
    e.type === "scale" && [e.width, e.height]
  );
  assertEquals(scales, [[16, 12], [25, 19], [40, 30]]);
});

Deno.test("scaleIterations: fewer iterations at the large scales, the last entry repeating", async () => {
  const events: ProgressEvent[] = [];
  await stylize(
    {
      network,
      plugins,
      content: contentImage,
      styles: [stripes],
      settings: { ...base, size: 40, scales: 3, minSize: 16, scaleIterations: [4, 2] },
    },
    { onProgress: (e) => events.push(e) },
  );
  const perScale = [1, 2, 3].map((k) =>
    events.filter((e) => e.type === "iteration" && e.scale === k).length
  );
  assertEquals(perScale, [4, 2, 2]);
  await assertRejects(
    () =>
      stylize({
        network,
        plugins,
        content: contentImage,
        styles: [stripes],
        settings: { ...base, scaleIterations: [2.5] },
      }),
    "scaleIterations: 2.5 is not a whole number",
  );
});

Deno.test("the same seed gives the same image; another seed another", async () => {
  const settings = { ...base, init: "noise" as const, seed: 42, iterations: 5 };
  const a = await stylize({ network, plugins, content: contentImage, styles: [stripes], settings });
  const b = await stylize({ network, plugins, content: contentImage, styles: [stripes], settings });
  const c = await stylize({
    network,
    plugins,
    content: contentImage,
    styles: [stripes],
    settings: { ...settings, seed: 43 },
  });
  assertEquals(a.image.data, b.image.data);
  assert(a.image.data.some((v, i) => v !== c.image.data[i]));
});

Deno.test("previews arrive every N iterations; Adam and averaging run", async () => {
  const previews: number[] = [];
  await stylize(
    {
      network,
      plugins,
      content: contentImage,
      styles: [stripes],
      settings: { ...base, optimizer: "adam", average: 0.9, iterations: 9, previewEvery: 4 },
    },
    { onProgress: (e) => e.type === "preview" && previews.push(e.iteration) },
  );
  assertEquals(previews, [4, 8, 9]);
});

Deno.test("an abort signal stops the run", async () => {
  const controller = new AbortController();
  let seen = 0;
  await assertRejects(
    () =>
      stylize(
        {
          network,
          plugins,
          content: contentImage,
          styles: [stripes],
          settings: { ...base, iterations: 50 },
        },
        {
          signal: controller.signal,
          onProgress: (e) => {
            if (e.type === "iteration" && ++seen === 3) {
              controller.abort(
                new Error("stopped by the user"),
              );
            }
          },
        },
      ),
    "stopped by the user",
  );
  assertEquals(seen, 3);
});

Deno.test("texture synthesis: no content image, any size and aspect", async () => {
  const r = await stylize({
    network,
    plugins: [style.use({}, 1), tv.use({}, 1e-4)],
    styles: [stripes],
    settings: { ...base, size: 36, aspect: 2, iterations: 5 },
  });
  assertEquals([r.image.width, r.image.height], [36, 18]);
});

Deno.test("preserved colours: the result has the content's chrominance", async () => {
  const red = rgbImage(
    24,
    24,
    Float32Array.from({ length: 3 * 576 }, (_, i) => (i < 576 ? 0.9 : 0.1)),
  );
  const r = await stylize({
    network,
    plugins,
    content: contentImage,
    styles: [red],
    settings: { ...base, preserveColors: true, iterations: 4 },
  });
  // Putting the content's chrominance back changes nothing (up to clamping at 0 and 1):
  // the chroma is already the content's, not the red style's.
  const again = combineLuminance(r.image, resizeImage(contentImage, r.image));
  let close = 0;
  for (let i = 0; i < again.data.length; i++) {
    if (Math.abs(again.data[i] - r.image.data[i]) < 1e-3) close++;
  }
  assert(close / again.data.length > 0.95, `only ${close} of ${again.data.length} values match`);
});

Deno.test("style blend weights must match the style images", async () => {
  await assertRejects(
    () =>
      stylize({
        network,
        plugins,
        content: contentImage,
        styles: [stripes],
        settings: { ...base, styleWeights: [1, 2] },
      }),
    "styleWeights has 2 weights for 1 style image(s)",
  );
});

Deno.test("an output too small for the network is refused up front, naming the size that works", async () => {
  // The tiny network reads 4 px and more: a texture ten times wider than high needs size 35.
  const run = (size: number) =>
    stylize({
      network,
      plugins: [style.use({}, 1)],
      styles: [stripes],
      settings: { ...base, size, aspect: 10 },
    });
  await assertRejects(
    () => run(16),
    "size 16 makes a 16×2 image, too small for network tiny (its shorter side needs 4 px); use size 35 or more",
  );
  const ok = await run(35);
  assertEquals([ok.image.width, ok.image.height], [35, 4]);
});

Deno.test("a NaN in the objective is reported and the last good image kept", async () => {
  // A plugin whose cost turns NaN once pixels move: sqrt of a negative number.
  const { definePlugin, sqrt, sub, reduceSum, reduceMean } = await import("../mod.ts");
  const fragile = definePlugin({
    name: "fragile",
    description: "NaN once the mean moves",
    options: {},
    layers: () => ["image"],
    cost: ({ features }) => reduceSum(sqrt(sub(0.5001, reduceMean(features("image"))))),
  });
  const grey = rgbImage(32, 32, new Float32Array(3 * 1024).fill(0.5));
  const r = await stylize({
    network,
    plugins: [fragile.use({}, 1), style.use({}, 1e3)],
    content: grey,
    styles: [stripes],
    settings: { ...base, iterations: 20 },
  });
  assert(r.warnings.some((w) => w.includes("NaN/Inf")), r.warnings.join("; ") || "no warning");
  assert(Number.isFinite(r.total) && r.image.data.every(Number.isFinite));
  assertAlmostEquals(r.image.data.reduce((a, b) => a + b, 0) / r.image.data.length, 0.5, 1e-3);
});

Deno.test("Gatys' normalisation runs on a network without batch norm", async () => {
  const events: ProgressEvent[] = [];
  const r = await stylize(
    {
      network,
      plugins,
      content: contentImage,
      styles: [stripes],
      settings: { ...base, normalise: true },
    },
    { onProgress: (e) => events.push(e) },
  );
  const its = events.filter((e) => e.type === "iteration");
  assert(its[its.length - 1].total < its[0].total, "total decreased");
  assert(r.image.data.every(Number.isFinite));
});
