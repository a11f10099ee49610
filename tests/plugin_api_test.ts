/**
 * The plugin API: a user's plugin from outside the built-ins works end to
 * end; bad options are refused with messages naming the plugin, the option
 * and what is allowed; recipes name plugins by JSON.
 */

import "./support/gpu_env.ts";
import {
  BUILTIN_PLUGINS,
  content,
  definePlugin,
  type Plugin,
  reduceSum,
  rgbImage,
  style,
  type Tensor,
  tv,
} from "../mod.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { compileObjective } from "../core/objective.ts";
import { pluginFromJson, pluginLayers } from "../core/plugin.ts";
import { uniform } from "../core/random.ts";
import { tint } from "./fixtures/user_plugin.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
  assertThrows,
} from "./support/assert.ts";

const network = new FeatureNetwork(TINY, randomWeights(TINY, 5));
const size = { width: 8, height: 8 };
const pixels = new Float32Array(3 * 64).fill(0.5);
const contentImage = rgbImage(8, 8, uniform(192, 1, { lo: 0, hi: 1 }));
const styleImage = rgbImage(8, 8, uniform(192, 2, { lo: 0, hi: 1 }));

Deno.test("a user's plugin file compiles and runs with the built-ins, end to end", async () => {
  const objective = await compileObjective({
    network,
    plugins: [tint.use({ red: 0.9 }, 10), content.use(), style.use({}, 100), tv.use({}, 0.1)],
    size,
    content: contentImage,
    styles: [{ image: styleImage, weight: 1 }],
  }, { backend: "wasm" });
  assertEquals(objective.terms, ["tint", "content", "style", "tv"]);
  const r = await objective.evaluate(pixels);
  // Flat grey image: channel means 0.5 → (0.9−0.5)² + (0.5−0.5)² + (0.4−0.5)², and no variation.
  assertAlmostEquals(r.terms.tint, 0.16 + 0.01, 1e-6);
  assertAlmostEquals(r.terms.tv, 0, 1e-9);
  const total = 10 * r.terms.tint + r.terms.content + 100 * r.terms.style + 0.1 * r.terms.tv;
  assertAlmostEquals(r.total, total, 1e-5 * total);
  assert(r.gradient.length === 192 && r.gradient.every(Number.isFinite));
  await objective.release();
});

Deno.test("a user's plugin gets the exact gradient of its forward math", async () => {
  const objective = await compileObjective({
    network,
    plugins: [tint.use({ red: 0.9 }, 10)],
    size,
  });
  const { gradient } = await objective.evaluate(pixels);
  // ∂/∂pixel of 10·Σ_c (mean_c − target_c)² = 10 · 2(mean_c − target_c) / 64 per channel.
  [-0.4, 0, 0.1].forEach((d, c) =>
    assertAlmostEquals(gradient[c * 64 + 17], (10 * 2 * d) / 64, 1e-7)
  );
  await objective.release();
});

Deno.test("a plugin may answer targets and cost with promises (code that runs elsewhere)", async () => {
  const later = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), 1));
  const spec = tint.spec;
  const remote = definePlugin({
    ...spec,
    name: "remote-tint",
    cost: (ctx, options) => later(spec.cost(ctx, options) as Tensor),
  });
  const direct = await compileObjective({ network, plugins: [tint.use({ red: 0.9 }, 10)], size });
  const viaPromise = await compileObjective({
    network,
    plugins: [remote.use({ red: 0.9 }, 10)],
    size,
  });
  const [a, b] = await Promise.all([direct.evaluate(pixels), viaPromise.evaluate(pixels)]);
  assertEquals(b.total, a.total);
  assertEquals([...b.gradient], [...a.gradient]);
  await direct.release();
  await viaPromise.release();
});

Deno.test("plugin uses serialise to JSON and back by name", () => {
  const use = style.use({ layers: ["relu1", { layer: "relu2", weight: 0.5 }], scale: 0.5 }, 1e4);
  const json = JSON.parse(JSON.stringify(use));
  assertEquals(json, {
    plugin: "style",
    weight: 1e4,
    options: {
      layers: [{ layer: "relu1", weight: 1 }, { layer: "relu2", weight: 0.5 }],
      scale: 0.5,
    },
  });
  const back = pluginFromJson(json, BUILTIN_PLUGINS);
  assertEquals(back.toJSON(), use.toJSON());
  const registry = new Map<string, Plugin>([...BUILTIN_PLUGINS, [
    "tint",
    tint,
  ]]);
  assertEquals(pluginFromJson({ plugin: "tint", weight: 2 }, registry).options, {
    red: 0.6,
    green: 0.5,
    blue: 0.4,
  });
});

Deno.test("bad options name the plugin, the option and the allowed values", () => {
  assertThrows(() => content.use({}, -1), "plugin content: weight must be a number ≥ 0, got -1");
  assertThrows(() => style.use({}, NaN), "plugin style: weight must be a number ≥ 0, got NaN");
  assertThrows(
    () => style.use({ scale: -2 }),
    "plugin style: option scale must be ≥ 0.05 and ≤ 8, got -2",
  );
  assertThrows(
    () => style.use({ scale: NaN }),
    "plugin style: option scale must be a number (≥ 0.05 and ≤ 8), got NaN",
  );
  assertThrows(
    () => content.use({ normalisation: "mean" }),
    'plugin content: option normalisation must be one of half, size, got "mean"',
  );
  assertThrows(() => tv.use({ beta: 3 }), "plugin tv: option beta must be ≥ 1 and ≤ 2, got 3");
  assertThrows(
    () => tv.use({ gamma: 1 }),
    'plugin tv: unknown option "gamma" (options: beta, epsilon, normalisation)',
  );
  assertThrows(
    () => style.use({ layers: [] }),
    'plugin style: option layers must be "style", "content" or a non-empty list',
  );
  assertThrows(
    () => style.use({ layers: [{ layer: "relu1", weight: -1 }] }),
    "plugin style: option layers weight of layer relu1 must be a number ≥ 0, got -1",
  );
  assertThrows(
    () => pluginFromJson({ plugin: "styel" }, BUILTIN_PLUGINS),
    'unknown plugin "styel" (plugins: content, style, tv, mean-covariance)',
  );
});

Deno.test("unknown layers and missing references are refused when compiling", async () => {
  await assertRejects(
    () =>
      compileObjective({
        network,
        plugins: [style.use({ layers: ["relu9"] })],
        size,
        styles: [{ image: styleImage, weight: 1 }],
      }),
    'plugin style: unknown layer "relu9" for network tiny; did you mean relu1 or relu2 or relu3? ' +
      "(layers: conv1, relu1, pool1",
  );
  // A big network's message stays short: close names and the recommended layers, not all 217.
  const big = {
    name: "big",
    layers: Array.from({ length: 200 }, (_, i) => `layer${i}`),
    defaults: {
      style: [{ layer: "layer1", weight: 1 }],
      content: [{ layer: "layer2", weight: 1 }],
    },
  };
  const error = assertThrows(() => pluginLayers(style.use({ layers: ["layer1000"] }), big), "");
  assertEquals(
    error.message,
    'plugin style: unknown layer "layer1000" for network big; did you mean layer100 or layer10 or ' +
      "layer101? (200 layers; the style ones are layer1, the content ones layer2)",
  );
  await assertRejects(
    () => compileObjective({ network, plugins: [style.use()], size, styles: [] }),
    "plugin style needs at least one style image (the style list is empty)",
  );
  await assertRejects(
    () => compileObjective({ network, plugins: [content.use()], size }),
    "plugin content needs a content image",
  );
  await assertRejects(
    () =>
      compileObjective({
        network,
        plugins: [style.use()],
        size,
        styles: [{ image: styleImage, weight: NaN }],
      }),
    "style image 1: blend weight must be a number ≥ 0, got NaN",
  );
});

Deno.test("definePlugin checks the definition; a non-scalar cost is named", async () => {
  assertThrows(
    () =>
      definePlugin({
        name: "Bad Name",
        description: "",
        options: {},
        layers: () => [],
        cost: () => {
          throw 0;
        },
      }),
    "definePlugin: name",
  );
  const wide = definePlugin({
    name: "wide",
    description: "returns a vector by mistake",
    options: {},
    layers: () => ["image"],
    cost: ({ features }) => reduceSum(features("image"), { axes: [2, 3] }),
  });
  await assertRejects(
    () => compileObjective({ network, plugins: [wide.use()], size }),
    "plugin wide: cost must be a scalar, got shape [1,3]",
  );
});
