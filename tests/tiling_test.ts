/**
 * Tiled evaluation: the layer grids, the tile plan (every position counted
 * once), window pixels with mirror padding, and tiled objectives against
 * the untiled one — costs and image gradients — for the built-in plugins,
 * with masks, with a style image larger than one window, and with a plugin
 * that cannot be tiled.
 */

import { type Mask, maskImage, type RgbImage, rgbImage } from "../core/mod.ts";
import { style } from "../plugins/style.ts";
import { content } from "../plugins/content.ts";
import { tv } from "../plugins/tv.ts";
import { meanCovariance } from "../plugins/mean_covariance.ts";
import { definePlugin } from "../core/plugin.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { vggDescription } from "../core/network/vgg.ts";
import { compileObjective, type ObjectiveSpec } from "../core/objective.ts";
import { layerGrids } from "../core/tiling/geometry.ts";
import { planTiles } from "../core/tiling/plan.ts";
import { readWindow, reflectIndex } from "../core/tiling/window_pixels.ts";
import { input, padReflect, reduceSum, square } from "../core/graph/mod.ts";
import { uniform } from "../core/random.ts";
import { evaluate } from "./support/reference.ts";
import { assert, assertAlmostEquals, assertEquals } from "./support/assert.ts";

const tiny = new FeatureNetwork(TINY, randomWeights(TINY, 3));
const noise = (w: number, h: number, seed: number): RgbImage =>
  rgbImage(w, h, uniform(3 * w * h, seed, { lo: 0, hi: 1 }));

Deno.test("layer grids give the sizes the network's features have", () => {
  const vgg = vggDescription("vgg19");
  const net = new FeatureNetwork(vgg, randomWeights(vgg, 1));
  const layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"];
  for (const [h, w] of [[67, 90], [64, 64], [101, 33]]) {
    const grids = layerGrids(vgg, layers, { height: h, width: w });
    const features = net.features(input("x", [1, 3, h, w]), layers);
    for (const l of layers) {
      const g = grids.get(l)!;
      assertEquals([g.rows.size, g.columns.size], features[l].shape.slice(2), `${l} at ${h}×${w}`);
    }
    assertEquals(grids.get("relu5_1")!.rows.stride, 16);
  }
});

Deno.test("a tile plan counts every position of every layer exactly once", () => {
  const layers = ["image", "conv1", "relu2", "conv3"];
  for (const [w, h, interior, halo] of [[50, 37, 8, 4], [64, 64, 16, 12], [9, 40, 4, 4]]) {
    const plan = planTiles(TINY, layers, { width: w, height: h }, { interior, halo, padding: 0 });
    assert(plan.windows.length > 1, `${w}×${h} should take several windows`);
    for (const layer of layers) {
      const view = plan.windows[0].layers.get(layer)!;
      const total = layer === "image"
        ? w * h
        : plan.grids.get(layer)!.rows.size * plan.grids.get(layer)!.columns.size;
      const counts = new Map<string, number>();
      for (const win of plan.windows) {
        const v = win.layers.get(layer)!;
        for (let i = v.rows.lo; i < v.rows.hi; i++) {
          for (let j = v.columns.lo; j < v.columns.hi; j++) {
            const key = `${v.rows.start + i},${v.columns.start + j}`;
            counts.set(key, (counts.get(key) ?? 0) + 1);
          }
        }
      }
      assert(view.rows.count > 0);
      assertEquals(counts.size, total, `${layer} at ${w}×${h}: positions covered`);
      assert([...counts.values()].every((n) => n === 1), `${layer}: a position counted twice`);
    }
  }
});

Deno.test("a window of the padded image reads what mirror padding gives", () => {
  const img = noise(7, 5, 4);
  const pad = 3;
  const padded = evaluate([padReflect(input("x", [1, 3, 5, 7]), pad)], { x: img.data })[0];
  const rows = { start: 2, end: 11, from: 0, to: 0 };
  const columns = { start: 4, end: 13, from: 0, to: 0 };
  const got = readWindow(img.data, img, { rows, columns, padding: pad });
  const W = 7 + 2 * pad;
  const H = 5 + 2 * pad;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 9; i++) {
      for (let j = 0; j < 9; j++) {
        assertEquals(
          got[(c * 9 + i) * 9 + j],
          padded[(c * H + rows.start + i) * W + columns.start + j],
        );
      }
    }
  }
  assertEquals([0, 1, 2, 3, 4, 5, 6].map((u) => reflectIndex(u, 2, 3)), [2, 1, 0, 1, 2, 1, 0]);
});

/** Costs and gradients of the same objective untiled and tiled. */
async function compare(spec: ObjectiveSpec, tiles: NonNullable<ObjectiveSpec["tiles"]>) {
  const { width, height } = spec.size;
  const pixels = uniform(3 * width * height, 17, { lo: 0.05, hi: 0.95 });
  const whole = await compileObjective(spec, { backend: "wasm" });
  const a = await whole.evaluate(pixels);
  await whole.release();
  const notices: string[] = [];
  const tiled = await compileObjective(
    { ...spec, tiles },
    { backend: "wasm", onNotice: (m) => notices.push(m) },
  );
  const windows = tiled.plan?.windows.length ?? 1;
  const progress: number[] = [];
  const b = await tiled.evaluate(pixels, { onWindow: (p) => progress.push(p.pass) });
  await tiled.release();
  let maxDiff = 0;
  let maxG = 0;
  let sumDiff = 0;
  let sumG = 0;
  for (let i = 0; i < a.gradient.length; i++) {
    const d = Math.abs(a.gradient[i] - b.gradient[i]);
    maxDiff = Math.max(maxDiff, d);
    maxG = Math.max(maxG, Math.abs(a.gradient[i]));
    sumDiff += d;
    sumG += Math.abs(a.gradient[i]);
  }
  return {
    a,
    b,
    windows,
    notices,
    progress,
    maxError: maxDiff / maxG,
    meanError: sumDiff / sumG,
  };
}

const contentImage = noise(52, 44, 5);
const styleImage = noise(40, 48, 6);
const tinySpec = (plugins: ObjectiveSpec["plugins"], more: Partial<ObjectiveSpec> = {}) => ({
  network: tiny,
  plugins,
  size: { width: 52, height: 44 },
  content: contentImage,
  styles: [{ image: styleImage, weight: 1 }],
  ...more,
});

Deno.test("tiled equals untiled on the tiny network when the halo holds the receptive field", async () => {
  const plugins = [
    style.use({ layers: ["relu1", "relu2", "conv3"] }, 10),
    content.use({ layers: ["relu2"] }, 1),
    tv.use({ normalisation: "mean" }, 0.1),
    meanCovariance.use({ layers: ["conv1", "conv3"] }, 0.3),
  ];
  const r = await compare(tinySpec(plugins), { interior: 12, halo: 12 });
  assert(r.windows >= 6, `expected several windows, got ${r.windows}`);
  assertEquals(r.progress.filter((p) => p === 1).length, r.windows);
  assertEquals(r.progress.filter((p) => p === 2).length, r.windows);
  for (const [k, v] of Object.entries(r.a.terms)) {
    assertAlmostEquals(r.b.terms[k], v, 2e-5 * Math.abs(v) + 1e-9);
  }
  assertAlmostEquals(r.b.total, r.a.total, 2e-5 * r.a.total);
  assert(r.maxError < 1e-4, `max relative gradient error ${r.maxError}`);
  assert(r.meanError < 1e-5, `mean relative gradient error ${r.meanError}`);
});

Deno.test("a smaller halo than the receptive field costs accuracy, measurably", async () => {
  const plugins = [style.use({ layers: ["conv3"] }, 10), content.use({ layers: ["conv3"] }, 1)];
  const errors: number[] = [];
  for (const halo of [4, 8, 12]) {
    const r = await compare(tinySpec(plugins), { interior: 12, halo });
    errors.push(r.maxError);
  }
  console.log(`tiny, max relative gradient error at halo 4, 8, 12 px: ${errors.join(", ")}`);
  assert(errors[0] > errors[2] && errors[2] < 1e-4, errors.join(", "));
});

Deno.test("tiled equals untiled with style masks, a content mask and a style source mask", async () => {
  const maskOf = (w: number, h: number, f: (x: number, y: number) => number): Mask =>
    maskImage(w, h, Float32Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w))));
  const spec = tinySpec([style.use({ layers: ["relu1", "conv3"] }, 10), content.use({}, 1)], {
    styles: [{ image: styleImage, weight: 1 }, { image: noise(30, 30, 8), weight: 2 }],
    guidance: {
      method: "receptive",
      styles: [maskOf(52, 44, (x) => (x < 26 ? 1 : 0))],
      styleSources: [maskOf(40, 48, (_, y) => (y < 30 ? 1 : 0.3))],
      content: maskOf(52, 44, (x, y) => (x + y) / 96),
    },
  });
  const r = await compare(spec, { interior: 12, halo: 12 });
  assert(r.windows > 1);
  assertAlmostEquals(r.b.total, r.a.total, 2e-5 * r.a.total);
  assert(r.maxError < 1e-4, `max relative gradient error ${r.maxError}`);
});

Deno.test("content features computed again in each window give the same objective", async () => {
  const plugins = [
    style.use({ layers: ["relu1", "conv3"] }, 10),
    content.use({ layers: ["relu2"] }, 1),
  ];
  const r = await compare(tinySpec(plugins), { interior: 12, halo: 12, recomputeReferences: true });
  assert(r.windows > 1);
  assertAlmostEquals(r.b.total, r.a.total, 2e-5 * r.a.total);
  assert(r.maxError < 1e-4, `max relative gradient error ${r.maxError}`);
});

Deno.test("a style image larger than one window gets its statistics in tiles too", async () => {
  const spec = tinySpec([style.use({ layers: ["relu1", "conv3"], scale: 2 }, 10)]);
  const r = await compare(spec, { interior: 12, halo: 12 });
  assertAlmostEquals(r.b.total, r.a.total, 2e-5 * r.a.total);
  assert(r.maxError < 1e-4, `max relative gradient error ${r.maxError}`);
});

Deno.test("a plugin without statistics runs untiled, with a notice", async () => {
  const energy = definePlugin({
    name: "energy",
    description: "sum of squares",
    options: {},
    layers: () => ["conv1"],
    cost: ({ features }) => reduceSum(square(features("conv1"))),
  });
  const r = await compare(tinySpec([energy.use({}, 1), tv.use({}, 1)]), { interior: 12, halo: 12 });
  assertEquals(r.windows, 1);
  assert(r.notices.some((n) => n.includes("plugin energy has no statistics()")), r.notices.join());
  assertEquals(r.b.total, r.a.total);
});

Deno.test("random VGG-19: the tiled gradient approaches the untiled one as the halo grows", async () => {
  const vgg = vggDescription("vgg19");
  const net = new FeatureNetwork(vgg, randomWeights(vgg, 2));
  const spec: ObjectiveSpec = {
    network: net,
    pooling: "avg",
    plugins: [style.use({}, 1e3), content.use({}, 1)],
    size: { width: 112, height: 96 },
    content: noise(112, 96, 9),
    styles: [{ image: noise(96, 96, 10), weight: 1 }],
  };
  const rows: string[] = [];
  let last = Infinity;
  for (const halo of [16, 32]) {
    const r = await compare(spec, { interior: 16, halo });
    assert(r.windows > 1);
    rows.push(
      `halo ${halo}: max ${r.maxError.toExponential(2)}, mean ${r.meanError.toExponential(2)}`,
    );
    assert(r.maxError <= last * 1.05, rows.join("; "));
    last = r.maxError;
  }
  console.log(`random VGG-19 (avg pool), 112×96: ${rows.join("; ")}`);
});
