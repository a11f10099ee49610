/**
 * Guidance (masks): how masks reach the layers (against plain loops), style
 * regions, guided objectives against finite differences, the one-region case
 * against the unguided objective, bad masks, and a two-region run whose
 * regions each end closer to their own style.
 */

import {
  constant,
  div,
  type Mask,
  maskImage,
  mul,
  reduceSum,
  type RgbImage,
  rgbImage,
  square,
  style,
  stylize,
  sub,
} from "../mod.ts";
import { content } from "../plugins/content.ts";
import { definePlugin } from "../core/plugin.ts";
import { areaResize, layerMasks, regionWeights, styleRegions } from "../core/guidance.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { compileObjective, type ObjectiveSpec } from "../core/objective.ts";
import { uniform } from "../core/random.ts";
import { evaluate } from "./support/reference.ts";
import { centralDifferences, relativeError } from "./support/gradcheck.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./support/assert.ts";

const net = new FeatureNetwork(TINY, randomWeights(TINY, 3));
const noise = (w: number, h: number, seed: number): RgbImage =>
  rgbImage(w, h, uniform(3 * w * h, seed, { lo: 0, hi: 1 }));
/** A mask from a rule on (x, y). */
const maskOf = (w: number, h: number, f: (x: number, y: number) => number): Mask =>
  maskImage(w, h, Float32Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w))));

// ------------------------------------------------------------ masks at the layers

Deno.test("area resize: each cell is the mean of the pixels it covers, fractions at the edges", () => {
  const m = maskImage(5, 1, Float32Array.from([0, 0.25, 0.5, 0.75, 1]));
  const out = areaResize(m, { width: 3, height: 1 });
  // Cells of 5/3 px: [0, 5/3), [5/3, 10/3), [10/3, 5).
  const third = 5 / 3;
  const want = [
    (0 + (2 / 3) * 0.25) / third,
    ((1 / 3) * 0.25 + 0.5 + (1 / 3) * 0.75) / third,
    ((2 / 3) * 0.75 + 1) / third,
  ];
  want.forEach((v, i) => assertAlmostEquals(out[i], v, 1e-6));
  // The mean is kept at any ratio.
  const big = maskOf(37, 23, (x, y) => ((x * 7 + y * 3) % 11) / 10);
  const small = areaResize(big, { width: 6, height: 5 });
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assertAlmostEquals(mean(small), mean(big.data), 1e-5);
});

/** Mean over k×k windows with a stride, padding excluded (plain loops). */
function windowMean(m: number[][], k: number, stride: number, pad: number): number[][] {
  const h = m.length;
  const w = m[0].length;
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  return Array.from({ length: oh }, (_, i) =>
    Array.from({ length: ow }, (_, j) => {
      let s = 0;
      let n = 0;
      for (let y = i * stride - pad; y < i * stride - pad + k; y++) {
        for (let x = j * stride - pad; x < j * stride - pad + k; x++) {
          if (y >= 0 && y < h && x >= 0 && x < w) {
            s += m[y][x];
            n++;
          }
        }
      }
      return s / n;
    }));
}

Deno.test("receptive propagation follows the network's windows (plain loops on the tiny network)", () => {
  const w = 12;
  const h = 10;
  const mask = maskOf(w, h, (x, y) => (x < 5 && y > 2 ? 1 : x === 7 ? 0.5 : 0));
  const rows = Array.from({ length: h }, (_, y) => Array.from(mask.data.slice(y * w, y * w + w)));
  const got = net.guidance(constant(mask.data, [1, 1, h, w]), ["relu1", "relu2", "relu3"]);
  const l1 = windowMean(rows, 3, 1, 1);
  const l2 = windowMean(windowMean(l1, 2, 2, 0), 3, 1, 1);
  const l3 = windowMean(windowMean(l2, 2, 2, 0), 3, 1, 1);
  for (const [layer, want] of [["relu1", l1], ["relu2", l2], ["relu3", l3]] as const) {
    const values = evaluate([got[layer]], {})[0];
    assertEquals(got[layer].shape, [1, 1, want.length, want[0].length]);
    want.flat().forEach((v, i) => assertAlmostEquals(values[i], v, 1e-9));
  }
});

Deno.test("with mirror padding around the input, both methods put a mask's edge in the same cell", () => {
  const padded = new FeatureNetwork({ ...TINY, inputPadding: 4 }, net.weights);
  const mask = maskOf(16, 16, (x) => (x < 6 ? 1 : 0));
  const image = constant(new Float32Array(3 * 256), [1, 3, 16, 16]);
  const features = padded.features(image, ["relu2"], { inputPadding: 4 });
  const columns = (method: "area" | "receptive") => {
    const read = layerMasks(padded, mask, {
      method,
      inputPadding: 4,
      layers: ["relu2"],
      shapeOf: (l) => features[l].shape,
    });
    const t = read("relu2");
    const [, , h, w] = t.shape;
    const values = evaluate([t], {})[0];
    return Array.from({ length: w }, (_, x) => values[Math.floor(h / 2) * w + x] > 0.5);
  };
  // relu2 is 12 wide over the 24 px padded image: the edge at x = 6 (10 padded) is cell 5.
  assertEquals(columns("area").indexOf(false), 5);
  assertEquals(columns("receptive").indexOf(false), 5);
});

Deno.test("style regions: a style without a mask gets what the others leave", () => {
  const size = { width: 4, height: 2 };
  const left = maskOf(4, 2, (x) => (x < 2 ? 1 : 0));
  const regions = styleRegions([left, undefined], 2, size)!;
  assertEquals([...regions[1].data], [0, 0, 1, 1, 0, 0, 1, 1]);
  assertEquals(styleRegions(undefined, 2, size), undefined);
  assertEquals(styleRegions([undefined, undefined], 2, size), undefined);
  // Overlapping masks leave nothing, never less.
  const all = maskOf(4, 2, () => 1);
  assertEquals([...styleRegions([all, left, undefined], 3, size)![2].data], new Array(8).fill(0));
});

// ------------------------------------------------------------ guided objectives

const size = { width: 12, height: 10 };
const contentImage = noise(12, 10, 11);
const styles = [{ image: noise(16, 16, 12), weight: 2 }, { image: noise(9, 14, 13), weight: 1 }];
const top = maskOf(24, 20, (_x, y) => (y < 8 ? 1 : y < 12 ? 0.5 : 0));

async function totalAndGradient(spec: ObjectiveSpec) {
  const objective = await compileObjective(spec, { backend: "wasm" });
  const pixels = uniform(3 * 12 * 10, 21, { lo: 0.1, hi: 0.9 });
  const out = await objective.evaluate(pixels);
  await objective.release();
  return { ...out, objective, pixels };
}

Deno.test("without masks, empty guidance compiles the very same objective", async () => {
  const spec = {
    network: net,
    plugins: [style.use({}, 1), content.use({}, 0.5)],
    size,
    content: contentImage,
    styles,
  };
  const a = await totalAndGradient(spec);
  const b = await totalAndGradient({ ...spec, guidance: { styles: [], method: "area" } });
  assertEquals(b.total, a.total);
  assertEquals([...b.gradient], [...a.gradient]);
  assertEquals(b.objective.graph.nodeCount, a.objective.graph.nodeCount);
  assertEquals(b.objective.graph.initializers, a.objective.graph.initializers);
});

Deno.test("one all-white region is the unguided cost", async () => {
  for (const method of ["area", "receptive"] as const) {
    const spec = { network: net, plugins: [style.use({}, 1)], size, styles: [styles[0]] };
    const plain = await totalAndGradient(spec);
    const white = maskOf(12, 10, () => 1);
    const guided = await totalAndGradient({
      ...spec,
      guidance: { styles: [white], styleSources: [maskOf(16, 16, () => 1)], method },
    });
    assertAlmostEquals(guided.total, plain.total, 1e-5 * plain.total);
    assert(relativeError(guided.gradient, plain.gradient) < 1e-4);
  }
});

Deno.test("two styles on one region blend there: the gradient of the target blend", async () => {
  // Σ w_s·‖G − G_s‖² and ‖G − Σ w_s·G_s‖² differ by a constant: the same gradient.
  const two = [{ image: noise(12, 10, 14), weight: 3 }, { image: noise(12, 10, 15), weight: 1 }];
  const spec = { network: net, plugins: [style.use({}, 1)], size, styles: two };
  const blended = await totalAndGradient(spec);
  const white = maskOf(12, 10, () => 1);
  const guided = await totalAndGradient({ ...spec, guidance: { styles: [white, white] } });
  const err = relativeError(guided.gradient, blended.gradient);
  assert(err < 1e-4, `gradient relative error ${err}`);
});

Deno.test("region weights: full strength on every covered pixel, shared regions split by blend weight", () => {
  const left = maskOf(4, 1, (x) => (x < 2 ? 1 : 0));
  const right = maskOf(4, 1, (x) => (x < 2 ? 0 : 1));
  const all = maskOf(4, 1, () => 1);
  const none = maskOf(4, 1, () => 0);
  const near = (a: number[], b: number[]) =>
    a.forEach((v, i) => assertAlmostEquals(v, b[i], 1e-12));
  near(regionWeights([left, right], [0.75, 0.25]), [1, 1]);
  near(regionWeights([left, right, right], [0.5, 0.25, 0.25]), [1, 0.5, 0.5]);
  near(regionWeights([all, all], [0.75, 0.25]), [0.75, 0.25]);
  near(regionWeights([left, none], [0.5, 0.5]), [1, 0]);
});

Deno.test("guided style and content gradients match finite differences, both methods", async () => {
  for (const method of ["area", "receptive"] as const) {
    const { total, gradient, objective, pixels } = await totalAndGradient({
      network: net,
      plugins: [style.use({ scale: 1.5 }, 1.5), content.use({ layers: ["relu1", "relu3"] }, 0.7)],
      size,
      content: contentImage,
      styles,
      guidance: {
        styles: [top],
        styleSources: [undefined, maskOf(9, 14, (x) => (x < 4 ? 1 : 0.2))],
        content: maskOf(12, 10, (x, y) => (x + y) / 20),
        method,
      },
    });
    const x = Float64Array.from(pixels);
    const cost = () => evaluate([objective.expressions.total], { image: x })[0][0];
    assertAlmostEquals(total, cost(), 1e-5 * Math.abs(total));
    const err = relativeError(gradient, centralDifferences(x, cost));
    assert(err < 1e-4, `${method}: gradient relative error ${err}`);
  }
});

Deno.test("a plugin that never reads masks is named when masks are given", async () => {
  const blind = definePlugin({
    name: "blind",
    description: "a style plugin that ignores masks",
    reference: "style",
    options: {},
    layers: () => ["relu1"],
    targets: ({ features }) => ({ f: features("relu1") }),
    cost: ({ features }) => reduceSum(features("relu1")),
  });
  const notices: string[] = [];
  await compileObjective({
    network: net,
    plugins: [blind.use({}, 1)],
    size: { width: 8, height: 8 },
    styles: [{ image: noise(8, 8, 1), weight: 1 }],
    guidance: { styles: [maskOf(8, 8, (x) => (x < 4 ? 1 : 0))] },
  }, { backend: "wasm", onNotice: (m) => notices.push(m) });
  assert(notices.some((n) => n.includes("plugin blind does not read masks")), notices.join("\n"));
});

// ------------------------------------------------------------ bad masks

const run = (masks: NonNullable<Parameters<typeof stylize>[0]["masks"]>, more = {}) =>
  stylize({
    network: net,
    plugins: [style.use({}, 1), content.use({}, 1)],
    content: noise(16, 12, 5),
    styles: [noise(16, 16, 6), noise(16, 16, 7)],
    masks,
    settings: { size: 16, scales: 1, iterations: 1, backend: "wasm", ...more },
  });

Deno.test("masks of another aspect ratio are refused unless stretched", async () => {
  await assertRejects(
    () => run({ styles: [maskOf(16, 16, () => 1)] }),
    "the style mask of style image 1 is 16×16 but the content image is 16×12 (another aspect ratio)",
  );
  await assertRejects(
    () => run({ styleSources: [undefined, maskOf(10, 20, () => 1)] }),
    "the source mask of style image 2 is 10×20 but style image 2 is 16×16",
  );
  await assertRejects(() => run({ content: maskOf(5, 5, () => 1) }), "the content mask");
  const { warnings } = await run({ styles: [maskOf(16, 16, (x) => (x < 8 ? 1 : 0))] }, {
    stretchMasks: true,
  });
  assertEquals(warnings, []);
});

Deno.test("more masks than styles, an all-black source, all-black and all-white masks", async () => {
  const m = maskOf(32, 24, (x) => (x < 16 ? 1 : 0));
  await assertRejects(
    () => run({ styles: [m, m, m] }),
    "3 style masks for 2 style image(s); give at most one per style image",
  );
  await assertRejects(
    () => run({ styleSources: [maskOf(16, 16, () => 0)] }),
    "the source mask of style image 1 is all black",
  );
  const black = maskOf(32, 24, () => 0);
  const white = maskOf(32, 24, () => 1);
  const a = await run({ styles: [black, white] });
  assert(a.warnings.includes("style mask 1 is all black: style image 1 gets no region"));
  assert(a.warnings.includes("style mask 2 is all white: style image 2 covers the whole image"));
  const b = await run({ styles: [white] });
  assert(
    b.warnings.some((w) => w.startsWith("style image 2 has no mask and the other masks cover")),
  );
  await assertRejects(() => run({ styles: [black, black] }), "every style mask is empty");
});

// ------------------------------------------------------------ two regions, two styles

/** Stripes of two colours along x or y, `period` px. */
function stripes(w: number, h: number, period: number, along: "x" | "y", a: number[], b: number[]) {
  const data = new Float32Array(3 * w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const colour = Math.floor((along === "x" ? x : y) / period) % 2 ? b : a;
      for (let c = 0; c < 3; c++) data[c * w * h + y * w + x] = colour[c];
    }
  }
  return rgbImage(w, h, data);
}

/** Relative Gram distance of `image` inside `region` to `reference`, by an independent judge network. */
function regionDistance(image: RgbImage, region: Mask, reference: RgbImage): number {
  const judge = new FeatureNetwork(TINY, randomWeights(TINY, 9));
  const gramOf = (img: RgbImage, mask?: Mask) => {
    const layers = ["relu1", "relu2"];
    const f = judge.features(constant(img.data, [1, 3, img.height, img.width]), layers);
    return layers.map((l) => {
      const [, c, h, w] = f[l].shape;
      const values = evaluate([f[l]], {})[0];
      const m = mask ? areaResize(mask, { width: w, height: h }) : new Float32Array(h * w).fill(1);
      const g = new Float64Array(c * c);
      let n = 0;
      for (let p = 0; p < h * w; p++) n += m[p] ** 2;
      for (let k = 0; k < c; k++) {
        for (let k2 = 0; k2 < c; k2++) {
          let s = 0;
          for (let p = 0; p < h * w; p++) {
            s += m[p] ** 2 * values[k * h * w + p] * values[k2 * h * w + p];
          }
          g[k * c + k2] = s / n;
        }
      }
      return g;
    });
  };
  const mine = gramOf(image, region);
  const theirs = gramOf(reference);
  let num = 0;
  let den = 0;
  mine.forEach((g, l) => {
    g.forEach((v, i) => {
      num += (v - theirs[l][i]) ** 2;
      den += theirs[l][i] ** 2;
    });
  });
  return Math.sqrt(num / den);
}

Deno.test("two regions, two styles: each region ends closer to its own style", async () => {
  const red = stripes(32, 32, 3, "x", [0.9, 0.1, 0.1], [0.1, 0, 0]);
  const blue = stripes(32, 32, 2, "y", [0.1, 0.2, 0.9], [0.95, 0.95, 1]);
  const left = maskOf(48, 32, (x) => (x < 24 ? 1 : 0));
  const right = maskOf(48, 32, (x) => (x < 24 ? 0 : 1));
  const { image } = await stylize({
    network: net,
    plugins: [style.use({}, 1)],
    styles: [red, blue],
    masks: { styles: [left] },
    settings: { size: 48, aspect: 1.5, scales: 1, iterations: 300, init: "noise", backend: "wasm" },
  });
  const own = [regionDistance(image, left, red), regionDistance(image, right, blue)];
  const other = [regionDistance(image, left, blue), regionDistance(image, right, red)];
  console.log(
    `region distances, own style vs the other: left ${own[0].toFixed(3)} vs ${
      other[0].toFixed(3)
    }, right ${own[1].toFixed(3)} vs ${other[1].toFixed(3)}`,
  );
  for (let r = 0; r < 2; r++) {
    assert(own[r] * 1.4 < other[r], `region ${r}: ${own[r]} vs ${other[r]}`);
  }
});

Deno.test("a user plugin reads the content mask at the raw pixels (the docs' guided brightness)", async () => {
  const brightness = definePlugin({
    name: "brightness",
    description: "mean pixel value inside the content mask close to a target",
    reference: "content",
    options: {},
    layers: () => ["image"],
    targets: () => ({}),
    cost: ({ features, mask }) => {
      const m = mask("image")!;
      return square(sub(div(reduceSum(mul(features("image"), m)), mul(reduceSum(m), 3)), 0.9));
    },
  });
  const grey = rgbImage(16, 16, new Float32Array(3 * 256).fill(0.5));
  const { image } = await stylize({
    network: net,
    plugins: [brightness.use({}, 1)],
    content: grey,
    masks: { content: maskOf(16, 16, (x) => (x < 8 ? 1 : 0)) },
    settings: { size: 16, scales: 1, iterations: 30, noise: 0, backend: "wasm" },
  });
  let left = 0;
  let right = 0;
  for (let p = 0; p < 256; p++) p % 16 < 8 ? (left += image.data[p]) : (right += image.data[p]);
  assertAlmostEquals(left / 128, 0.9, 1e-3);
  assertAlmostEquals(right / 128, 0.5, 1e-6);
});
