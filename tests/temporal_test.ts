/**
 * The temporal-consistency plugin and named reference images: its cost
 * against a plain loop (with and without the reliability mask), its gradient
 * against finite differences, tiled against untiled beside a content cost
 * that reads another image of the output's size, and the errors for a
 * reference the run does not give.
 */

import { maskImage, mul, reduceSum, type RgbImage, rgbImage, square, sub } from "../core/mod.ts";
import { temporal } from "../plugins/temporal.ts";
import { content } from "../plugins/content.ts";
import { style } from "../plugins/style.ts";
import { definePlugin } from "../core/plugin.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { compileObjective, type ObjectiveSpec } from "../core/objective.ts";
import { uniform } from "../core/random.ts";
import { evaluate } from "./support/reference.ts";
import { centralDifferences, relativeError } from "./support/gradcheck.ts";
import { assert, assertAlmostEquals, assertRejects } from "./support/assert.ts";

const tiny = new FeatureNetwork(TINY, randomWeights(TINY, 3));
const noise = (w: number, h: number, seed: number): RgbImage =>
  rgbImage(w, h, uniform(3 * w * h, seed, { lo: 0, hi: 1 }));

/** (1/3HW) Σ c·(x − ω)², c per pixel (all channels), in float64. */
function loopTemporal(x: Float32Array, warped: Float32Array, c: Float32Array | undefined): number {
  const n = c ? c.length : x.length / 3;
  let s = 0;
  for (let k = 0; k < 3; k++) {
    for (let p = 0; p < n; p++) s += (c ? c[p] : 1) * (x[k * n + p] - warped[k * n + p]) ** 2;
  }
  return s / (3 * n);
}

const W = 20;
const H = 14;
const warped = noise(W, H, 2);
const reliability = Float32Array.from({ length: W * H }, (_, i) => (i % 7 === 0 ? 0 : (i % 5) / 4));

Deno.test("temporal cost equals the plain loop, with and without the reliability mask", async () => {
  const pixels = uniform(3 * W * H, 1, { lo: 0, hi: 1 });
  for (const mask of [undefined, maskImage(W, H, reliability)]) {
    const objective = await compileObjective({
      network: tiny,
      plugins: [temporal.use({}, 1)],
      size: { width: W, height: H },
      references: { previous: { image: warped, mask } },
    }, { backend: "wasm" });
    const { terms } = await objective.evaluate(pixels);
    await objective.release();
    const want = loopTemporal(pixels, warped.data, mask?.data);
    assertAlmostEquals(terms.temporal, want, 1e-5 * want);
  }
});

Deno.test("temporal gradient matches finite differences", async () => {
  const objective = await compileObjective({
    network: tiny,
    plugins: [temporal.use({}, 2.5), content.use({ layers: ["relu2"] }, 1)],
    size: { width: 12, height: 10 },
    content: noise(12, 10, 4),
    references: {
      previous: {
        image: noise(12, 10, 5),
        mask: maskImage(12, 10, uniform(120, 6, { lo: 0, hi: 1 })),
      },
    },
  }, { backend: "wasm" });
  const pixels = uniform(3 * 12 * 10, 7, { lo: 0.1, hi: 0.9 });
  const { total, gradient } = await objective.evaluate(pixels);
  await objective.release();
  const x = Float64Array.from(pixels);
  const cost = () => evaluate([objective.expressions.total], { image: x })[0][0];
  assertAlmostEquals(total, cost(), 1e-5 * Math.abs(total));
  const err = relativeError(gradient, centralDifferences(x, cost));
  assert(err < 1e-4, `gradient relative error ${err}`);
});

Deno.test("tiled equals untiled with the content image and a second image of the output's size", async () => {
  // Two plugins read different images of the output's size at the same layer.
  const sharp = definePlugin({
    name: "sharp",
    description: "content cost at relu2 against the image named sharp",
    reference: "sharp",
    options: {},
    layers: () => ["relu2"],
    statistics: ({ features, reference, mask }) => {
      const d = square(sub(features("relu2"), reference("relu2")));
      const m = mask("relu2");
      return { s: reduceSum(m ? mul(d, m) : d) };
    },
    cost: ({ statistics }) => statistics.s,
  });
  const size = { width: 52, height: 44 };
  const spec: ObjectiveSpec = {
    network: tiny,
    plugins: [
      style.use({ layers: ["relu1", "conv3"] }, 10),
      content.use({ layers: ["relu2"] }, 1),
      sharp.use({}, 0.5),
      temporal.use({}, 20),
    ],
    size,
    content: noise(52, 44, 5),
    styles: [{ image: noise(40, 48, 6), weight: 1 }],
    references: {
      sharp: { image: noise(52, 44, 8) },
      previous: {
        image: noise(52, 44, 9),
        mask: maskImage(52, 44, Float32Array.from({ length: 52 * 44 }, (_, i) => (i % 3) / 2)),
      },
    },
  };
  const pixels = uniform(3 * 52 * 44, 17, { lo: 0.05, hi: 0.95 });
  const whole = await compileObjective(spec, { backend: "wasm" });
  const a = await whole.evaluate(pixels);
  await whole.release();
  for (const recomputeReferences of [false, true]) {
    const tiled = await compileObjective({
      ...spec,
      tiles: { interior: 12, halo: 12, recomputeReferences },
    }, { backend: "wasm" });
    assert((tiled.plan?.windows.length ?? 1) > 1, "expected several windows");
    const b = await tiled.evaluate(pixels);
    await tiled.release();
    for (const [k, v] of Object.entries(a.terms)) {
      assertAlmostEquals(b.terms[k], v, 2e-5 * Math.abs(v) + 1e-9);
    }
    let maxDiff = 0;
    let maxG = 0;
    for (let i = 0; i < a.gradient.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a.gradient[i] - b.gradient[i]));
      maxG = Math.max(maxG, Math.abs(a.gradient[i]));
    }
    assert(maxDiff / maxG < 1e-4, `max relative gradient error ${maxDiff / maxG}`);
  }
});

Deno.test("a plugin whose reference image the run does not give is refused by name", async () => {
  await assertRejects(
    () =>
      compileObjective({
        network: tiny,
        plugins: [temporal.use({}, 1)],
        size: { width: 8, height: 8 },
      }, { backend: "wasm" }),
    'needs the reference image "previous"',
  );
  await assertRejects(
    () =>
      compileObjective({
        network: tiny,
        plugins: [temporal.use({}, 1)],
        size: { width: 8, height: 8 },
        references: { previous: { image: noise(9, 8, 1) } },
      }, { backend: "wasm" }),
    "must have the output's size, 8×8",
  );
  await assertRejects(
    () =>
      compileObjective({
        network: tiny,
        plugins: [temporal.use({}, 1)],
        size: { width: 8, height: 8 },
        references: { content: { image: noise(8, 8, 1) } },
      }, { backend: "wasm" }),
    "other than content and style",
  );
});
