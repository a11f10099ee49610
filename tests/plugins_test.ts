/**
 * The built-in cost plugins: exact values against plain loops on small
 * hand-made tensors, and gradients through a small random network against
 * finite differences.
 */

import {
  constant,
  content,
  type CostContext,
  gramMatrix,
  meanCovariance,
  type NetworkInfo,
  type Plugin,
  type PluginUse,
  type RgbImage,
  rgbImage,
  style,
  type Tensor,
  tv,
} from "../mod.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { compileObjective } from "../core/objective.ts";
import { uniform } from "../core/random.ts";
import { evaluate } from "./support/reference.ts";
import { centralDifferences, relativeError } from "./support/gradcheck.ts";
import { assert, assertAlmostEquals } from "./support/assert.ts";

// ------------------------------------------------------------ plain loops

/** a[c][y][x] of a [1, C, H, W] array. */
const at = (a: Float32Array, c: number, y: number, x: number, h: number, w: number) =>
  a[(c * h + y) * w + x];

function loopGram(a: Float32Array, c: number, h: number, w: number): number[][] {
  const g = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  for (let k = 0; k < c; k++) {
    for (let k2 = 0; k2 < c; k2++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) g[k][k2] += at(a, k, y, x, h, w) * at(a, k2, y, x, h, w);
      }
    }
  }
  return g;
}

function loopContent(
  a: Float32Array,
  b: Float32Array,
  c: number,
  h: number,
  w: number,
  norm: string,
) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return norm === "half" ? s / 2 : s / (4 * h * w * c);
}

function loopStyleLayer(gen: Float32Array, sty: Float32Array, c: number, h: number, w: number) {
  const g = loopGram(gen, c, h, w);
  const t = loopGram(sty, c, h, w);
  let s = 0;
  for (let k = 0; k < c; k++) for (let k2 = 0; k2 < c; k2++) s += (t[k][k2] - g[k][k2]) ** 2;
  return s / (2 * h * w * c) ** 2;
}

function loopTv(img: Float32Array, h: number, w: number, beta: number, eps: number) {
  let s = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h - 1; y++) {
      for (let x = 0; x < w - 1; x++) {
        const p = at(img, c, y, x, h, w);
        const d = (at(img, c, y + 1, x, h, w) - p) ** 2 + (at(img, c, y, x + 1, h, w) - p) ** 2;
        s += beta === 2 ? d : (d + eps) ** (beta / 2);
      }
    }
  }
  return s;
}

function loopMeanCov(gen: Float32Array, sty: Float32Array, c: number, n: number) {
  const stats = (a: Float32Array) => {
    const mean = Array.from({ length: c }, (_, k) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += a[k * n + i];
      return s / n;
    });
    const cov = mean.map((mk, k) =>
      mean.map((mk2, k2) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += (a[k * n + i] - mk) * (a[k2 * n + i] - mk2);
        return s / n;
      })
    );
    return { mean, cov };
  };
  const g = stats(gen);
  const s = stats(sty);
  let dm = 0;
  let dc = 0;
  for (let k = 0; k < c; k++) {
    dm += (g.mean[k] - s.mean[k]) ** 2;
    for (let k2 = 0; k2 < c; k2++) dc += (g.cov[k][k2] - s.cov[k][k2]) ** 2;
  }
  return dm / c + dc / (c * c);
}

// ------------------------------------------------------------ plugin math on hand-made features

const C = 3;
const H = 4;
const W = 5;
const genA = uniform(C * H * W, 1, { lo: 0, hi: 2 });
const genB = uniform(2 * 2 * 3, 2, { lo: 0, hi: 2 });
const refA = uniform(C * H * W, 3, { lo: 0, hi: 2 });
const refB = uniform(2 * 2 * 3, 4, { lo: 0, hi: 2 });
const network: NetworkInfo = {
  name: "handmade",
  layers: ["a", "b"],
  defaults: { style: [{ layer: "a", weight: 1 }], content: [{ layer: "a", weight: 1 }] },
};
const handmade = (a: Float32Array, b: Float32Array) => {
  const tensors: Record<string, Tensor> = {
    a: constant(a, [1, C, H, W]),
    b: constant(b, [1, 2, 2, 3]),
  };
  return (layer: string) => tensors[layer];
};

/** Masks of layer `a` (`[1, 1, H, W]`) for the reference and the generated image. */
interface HandmadeMasks {
  reference?: Float32Array;
  output?: Float32Array;
}

const maskOf = (values?: Float32Array) => (layer: string) =>
  values && layer === "a" ? constant(values, [1, 1, H, W]) : undefined;

/**
 * A plugin's cost on the hand-made features, targets from the hand-made
 * reference, in float64 — driven the way the core drives a plugin: through
 * its statistics when it has them.
 */
function pluginCost(use: PluginUse, masks: HandmadeMasks = {}): Promise<number> {
  return costOn(use, handmade(genA, genB), handmade(refA, refB), masks);
}

/** The constants of evaluated expressions. */
function evaluated(exprs: Record<string, Tensor>): Record<string, Tensor> {
  const values = evaluate(Object.values(exprs), {});
  return Object.fromEntries(
    Object.keys(exprs).map((k, i) => [k, constant(Float32Array.from(values[i]), exprs[k].shape)]),
  );
}

async function costOn(
  use: PluginUse,
  generated: (layer: string) => Tensor,
  reference: (layer: string) => Tensor,
  masks: HandmadeMasks = {},
): Promise<number> {
  const spec = use.plugin.spec;
  const statsOf = spec.statistics;
  let targets: Record<string, Tensor> = {};
  // The built-ins answer at once (a plugin may also answer with a promise).
  if (statsOf && spec.targets) {
    const statistics = evaluated(
      await statsOf({
        features: reference,
        mask: maskOf(masks.reference),
        reference,
        network,
      }, use.options),
    );
    targets = evaluated(
      spec.targets({
        features: () => {
          throw new Error("no features");
        },
        mask: maskOf(masks.reference),
        statistics,
        network,
      }, use.options) as Record<string, Tensor>,
    );
  } else if (spec.targets) {
    targets = evaluated(
      spec.targets(
        { features: reference, mask: maskOf(masks.reference), statistics: {}, network },
        use.options,
      ) as Record<string, Tensor>,
    );
  }
  const statistics = statsOf
    ? await statsOf(
      { features: generated, mask: maskOf(masks.output), reference, network },
      use.options,
    )
    : {};
  const ctx: CostContext = {
    features: generated,
    targets,
    mask: maskOf(masks.output),
    statistics,
    shape: (layer) => generated(layer).shape,
    network,
  };
  return evaluate([spec.cost(ctx, use.options) as Tensor], {})[0][0];
}

Deno.test("gram matrix equals the plain sum entry by entry", () => {
  const g = evaluate([gramMatrix(constant(genA, [1, C, H, W]))], {})[0];
  const expected = loopGram(genA, C, H, W);
  for (let k = 0; k < C; k++) {
    for (let k2 = 0; k2 < C; k2++) assertAlmostEquals(g[k * C + k2], expected[k][k2], 1e-5);
  }
});

Deno.test("content cost equals the plain loop, both normalisations", async () => {
  for (const normalisation of ["half", "size"] as const) {
    const got = await pluginCost(content.use({ layers: ["a"], normalisation }));
    const want = loopContent(genA, refA, C, H, W, normalisation);
    assertAlmostEquals(got, want, 1e-6 * Math.abs(want));
  }
});

Deno.test("content cost over two layers with weights", async () => {
  const got = await pluginCost(
    content.use({ layers: [{ layer: "a", weight: 2 }, { layer: "b", weight: 0.5 }] }),
  );
  const want = 2 * loopContent(genA, refA, C, H, W, "half") +
    0.5 * loopContent(genB, refB, 2, 2, 3, "half");
  assertAlmostEquals(got, want, 1e-6 * want);
});

Deno.test("style cost equals the plain loop with per-layer weights", async () => {
  const got = await pluginCost(
    style.use({ layers: [{ layer: "a", weight: 0.3 }, { layer: "b", weight: 0.7 }] }),
  );
  const want = 0.3 * loopStyleLayer(genA, refA, C, H, W) +
    0.7 * loopStyleLayer(genB, refB, 2, 2, 3);
  assertAlmostEquals(got, want, 1e-5 * want);
});

Deno.test("total variation equals the plain loop, β = 2 and β = 1", async () => {
  const img = uniform(3 * H * W, 5, { lo: 0, hi: 1 });
  const features = (layer: string) => {
    assert(layer === "image");
    return constant(img, [1, 3, H, W]);
  };
  for (const [beta, epsilon] of [[2, 0], [1, 1e-8], [1.5, 1e-3]]) {
    for (const normalisation of ["sum", "mean"] as const) {
      const use = tv.use({ beta, epsilon, normalisation });
      const got = await costOn(use, features, features);
      const terms = normalisation === "sum" ? 1 : 3 * (H - 1) * (W - 1);
      const want = loopTv(img, H, W, beta, epsilon) / terms;
      assertAlmostEquals(got, want, 1e-6 * want);
    }
  }
});

Deno.test("mean-and-covariance cost equals the plain loop", async () => {
  const got = await pluginCost(meanCovariance.use({ layers: ["a"] }));
  const want = loopMeanCov(genA, refA, C, H * W);
  assertAlmostEquals(got, want, 1e-6 * want);
});

// ------------------------------------------------------------ guided costs (masks) on hand-made features

/** Masks of layer a with hard zeros, hard ones and soft values. */
const maskOut = uniform(H * W, 41, { lo: -0.5, hi: 1.5 }).map((v) => Math.min(1, Math.max(0, v)));
const maskRef = uniform(H * W, 42, { lo: -0.5, hi: 1.5 }).map((v) => Math.min(1, Math.max(0, v)));
const ones = new Float32Array(H * W).fill(1);

function loopGuidedGram(a: Float32Array, m: Float32Array, c: number, n: number): number[][] {
  const g = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  for (let k = 0; k < c; k++) {
    for (let k2 = 0; k2 < c; k2++) {
      for (let p = 0; p < n; p++) g[k][k2] += m[p] * a[k * n + p] * m[p] * a[k2 * n + p];
    }
  }
  return g;
}

function loopGuidedStyleLayer(gen: Float32Array, sty: Float32Array, c: number) {
  const n = H * W;
  let nOut = 0;
  let nRef = 0;
  for (let p = 0; p < n; p++) {
    nOut += maskOut[p] ** 2;
    nRef += maskRef[p] ** 2;
  }
  const g = loopGuidedGram(gen, maskOut, c, n);
  const t = loopGuidedGram(sty, maskRef, c, n);
  let s = 0;
  for (let k = 0; k < c; k++) {
    for (let k2 = 0; k2 < c; k2++) s += (g[k][k2] - nOut * t[k][k2] / nRef) ** 2;
  }
  return s / (4 * n * nOut * c * c);
}

Deno.test("guided style cost equals the plain loop (output region and style source masks)", async () => {
  const got = await pluginCost(style.use({ layers: [{ layer: "a", weight: 0.4 }] }), {
    reference: maskRef,
    output: maskOut,
  });
  const want = 0.4 * loopGuidedStyleLayer(genA, refA, C);
  assertAlmostEquals(got, want, 1e-6 * want);
});

Deno.test("guided style, content and mean-covariance costs with all-ones masks equal the unguided ones", async () => {
  for (
    const use of [
      style.use({ layers: ["a"] }),
      content.use({ layers: ["a"] }),
      meanCovariance.use({ layers: ["a"] }),
    ]
  ) {
    const plain = await pluginCost(use);
    const guided = await pluginCost(use, { reference: ones, output: ones });
    assert(Math.abs(guided - plain) <= 1e-6 * plain, `${use.plugin.name}: ${guided} vs ${plain}`);
  }
});

Deno.test("guided content cost weights each position by the mask", async () => {
  for (const normalisation of ["half", "size"] as const) {
    const got = await pluginCost(content.use({ layers: ["a"], normalisation }), {
      output: maskOut,
    });
    let sum = 0;
    for (let k = 0; k < C; k++) {
      for (let p = 0; p < H * W; p++) {
        sum += maskOut[p] * (genA[k * H * W + p] - refA[k * H * W + p]) ** 2;
      }
    }
    const want = normalisation === "half" ? sum / 2 : sum / (4 * H * W * C);
    assertAlmostEquals(got, want, 1e-6 * want);
  }
});

Deno.test("guided mean-and-covariance cost equals the plain loop", async () => {
  const n = H * W;
  const stats = (a: Float32Array, m: Float32Array) => {
    let total = 0;
    for (let p = 0; p < n; p++) total += m[p] ** 2;
    const mean = Array.from({ length: C }, (_, k) => {
      let s = 0;
      for (let p = 0; p < n; p++) s += m[p] ** 2 * a[k * n + p];
      return s / total;
    });
    const cov = mean.map((mk, k) =>
      mean.map((mk2, k2) => {
        let s = 0;
        for (let p = 0; p < n; p++) s += m[p] ** 2 * (a[k * n + p] - mk) * (a[k2 * n + p] - mk2);
        return s / total;
      })
    );
    return { mean, cov, total };
  };
  const g = stats(genA, maskOut);
  const t = stats(refA, maskRef);
  let dm = 0;
  let dc = 0;
  for (let k = 0; k < C; k++) {
    dm += (g.mean[k] - t.mean[k]) ** 2;
    for (let k2 = 0; k2 < C; k2++) dc += (g.cov[k][k2] - t.cov[k][k2]) ** 2;
  }
  const want = (dm / C + dc / (C * C)) * g.total / n;
  const got = await pluginCost(meanCovariance.use({ layers: ["a"] }), {
    reference: maskRef,
    output: maskOut,
  });
  assertAlmostEquals(got, want, 1e-6 * want);
});

// ------------------------------------------------------------ gradients through a network

const net = new FeatureNetwork(TINY, randomWeights(TINY, 3));
const image = (w: number, h: number, seed: number): RgbImage =>
  rgbImage(w, h, uniform(3 * w * h, seed, { lo: 0, hi: 1 }));
const contentImage = image(12, 10, 11);
const styleImages = [{ image: image(16, 16, 12), weight: 2 }, {
  image: image(9, 14, 13),
  weight: 1,
}];

async function gradientCheck(plugin: Plugin, options: Record<string, unknown>, network = net) {
  const objective = await compileObjective({
    network,
    plugins: [plugin.use(options, 1.5)],
    size: { width: 12, height: 10 },
    content: contentImage,
    styles: styleImages,
  }, { backend: "wasm" });
  const pixels = uniform(3 * 12 * 10, 21, { lo: 0.1, hi: 0.9 });
  const { total, gradient } = await objective.evaluate(pixels);
  await objective.release();
  const x = Float64Array.from(pixels);
  const cost = () => evaluate([objective.expressions.total], { image: x })[0][0];
  assertAlmostEquals(total, cost(), 1e-5 * Math.abs(total));
  const err = relativeError(gradient, centralDifferences(x, cost));
  assert(err < 1e-4, `${plugin.name}: gradient relative error ${err}`);
}

Deno.test("content gradient through the tiny network matches finite differences", async () => {
  await gradientCheck(content, { layers: ["relu1", "relu3"] });
});

Deno.test("style gradient (two style images, style scale) matches finite differences", async () => {
  await gradientCheck(style, { scale: 1.5 });
});

Deno.test("with mirror padding around the input, the gradient still matches", async () => {
  const padded = new FeatureNetwork({ ...TINY, inputPadding: 3 }, net.weights);
  await gradientCheck(style, {}, padded);
});

Deno.test("tv gradient, β = 1, matches finite differences", async () => {
  await gradientCheck(tv, { beta: 1, epsilon: 1e-4 });
});

Deno.test("mean-covariance gradient matches finite differences", async () => {
  await gradientCheck(meanCovariance, {});
});

Deno.test("several style images blend by mixing their Gram targets with normalised weights", async () => {
  const size = { width: 8, height: 8 };
  const styles = [{ image: image(8, 8, 31), weight: 3 }, { image: image(8, 8, 32), weight: 1 }];
  const objective = await compileObjective({
    network: net,
    plugins: [style.use({ layers: ["relu2"] })],
    size,
    styles,
  }, { backend: "wasm" });
  const pixels = uniform(3 * 64, 33, { lo: 0, hi: 1 });
  const { terms } = await objective.evaluate(pixels);
  await objective.release();
  // Independently: features by the reference interpreter, Grams and their blend by loops.
  const featuresOf = (data: Float32Array) => {
    const t = net.features(constant(data, [1, 3, 8, 8]), ["relu2"]).relu2;
    return { values: Float32Array.from(evaluate([t], {})[0]), shape: t.shape };
  };
  const gen = featuresOf(pixels);
  const [, c, h, w] = gen.shape;
  const grams = styles.map((s) => loopGram(featuresOf(s.image.data).values, c, h, w));
  const g = loopGram(gen.values, c, h, w);
  let sum = 0;
  for (let k = 0; k < c; k++) {
    for (let k2 = 0; k2 < c; k2++) {
      const target = 0.75 * grams[0][k][k2] + 0.25 * grams[1][k][k2];
      sum += (target - g[k][k2]) ** 2;
    }
  }
  const want = sum / (2 * h * w * c) ** 2;
  assertAlmostEquals(terms.style, want, 1e-4 * want);
});
