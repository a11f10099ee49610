/**
 * InceptionV3 rebuilt from nsfwjs's Keras topology and quantised weights:
 * the rebuild must reproduce nsfwjs's own class probabilities (computed by
 * TensorFlow.js, see fixtures/make_inception_fixture.ts) on two images.
 */

import sharp from "sharp";
import { createSession, input, reduceMean, toOnnx } from "../mod.ts";
import { formatShape } from "../core/graph/expr.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { loadInception } from "../core/network/inception.ts";
import { loadInceptionClassifier } from "../core/network/inception_classifier.ts";
import { type KerasLayer, kerasLayers } from "../core/network/keras_layers.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./support/assert.ts";

const fixtures = new URL("./fixtures/", import.meta.url);

interface Fixture {
  versions: Record<string, string>;
  classes: string[];
  featureLayer: string;
  images: { file: string; probabilities: number[]; mixed2ChannelMeans: number[] }[];
}

/** A PNG fixture as NCHW float32 in [0, 1] (pixel / 255, as nsfwjs scales). */
async function pixels(file: string): Promise<Float32Array> {
  const { data, info } = await sharp(new URL(file, fixtures).pathname)
    .raw()
    .toBuffer({ resolveWithObject: true });
  assertEquals([info.width, info.height, info.channels], [299, 299, 3]);
  const plane = 299 * 299;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = data[p * 3 + c] / 255;
  }
  return out;
}

const maxError = (a: ArrayLike<number>, b: readonly number[]): number =>
  Math.max(...b.map((v, i) => Math.abs(a[i] - v)));

Deno.test("inception: the package reads and dequantises in well under a second", async () => {
  let t = performance.now();
  const net = await loadInception({ layers: [] });
  const read = performance.now() - t;
  t = performance.now();
  let values = 0;
  for (const w of net.weights.values()) values += w.data.length;
  const dequantise = performance.now() - t;
  t = performance.now();
  await loadInception();
  const again = performance.now() - t;
  console.log(
    `  read ${read.toFixed(0)} ms (import + base64, or cached), dequantise ${values} values ` +
      `${dequantise.toFixed(0)} ms, second load ${again.toFixed(1)} ms`,
  );
  assertEquals(values, 22_360_869);
  assertEquals(net.weights.size, 382);
  // Keras HWIO [3, 3, 3, 32] becomes OIHW.
  assertEquals(net.weights.get("conv2d_1/kernel")!.shape, [32, 3, 3, 3]);
  assertEquals(net.description.layers.length, 217);
});

Deno.test("inception: reproduces nsfwjs's class probabilities to 1e-4", async () => {
  const fixture = JSON.parse(
    await Deno.readTextFile(new URL("inception_probabilities.json", fixtures)),
  ) as Fixture;
  const classifier = await loadInceptionClassifier();
  assertEquals([...classifier.classes], fixture.classes);
  const n = fixture.images.length;
  const image = input("image", [n, 3, 299, 299]);
  const { probabilities, logits } = classifier.classify(image);
  assertEquals(probabilities.shape, [n, 5]);
  const features = classifier.network.features(image, [fixture.featureLayer]);
  const means = reduceMean(features[fixture.featureLayer], { axes: [2, 3] });
  const session = await createSession(toOnnx({ probabilities, logits, means }), {
    backend: "wasm",
  });
  try {
    const feed = new Float32Array(n * 3 * 299 * 299);
    for (let i = 0; i < n; i++) feed.set(await pixels(fixture.images[i].file), i * 3 * 299 * 299);
    const t = performance.now();
    const out = await session.run({ image: feed });
    console.log(`  ${n} images at 299 px on ${session.device}: ${(performance.now() - t) | 0} ms`);
    let worst = 0;
    let worstMean = 0;
    fixture.images.forEach((ref, i) => {
      const p = out.probabilities.subarray(i * 5, i * 5 + 5);
      const m = out.means.subarray(i * 288, (i + 1) * 288);
      const err = maxError(p, ref.probabilities);
      const errMean = maxError(m, ref.mixed2ChannelMeans);
      console.log(
        `  ${ref.file}: ours ${Array.from(p, (v) => v.toFixed(6)).join(" ")}; ` +
          `max |Δp| ${err.toExponential(2)}, max |Δ mean ${fixture.featureLayer}| ` +
          `${errMean.toExponential(2)}`,
      );
      worst = Math.max(worst, err);
      worstMean = Math.max(worstMean, errMean);
    });
    assert(worst <= 1e-4, `probabilities differ from nsfwjs's by up to ${worst}`);
    assert(worstMean <= 1e-4, `${fixture.featureLayer} channel means differ by up to ${worstMean}`);
  } finally {
    await session.release();
  }
});

Deno.test("inception: the default layers build on a 64×64 image", async () => {
  const net = await loadInception();
  const { style, content } = net.description.defaults;
  assertEquals(style.map((l) => l.layer), [
    "activation_1",
    "activation_3",
    "activation_5",
    "mixed0",
    "mixed2",
  ]);
  assertEquals(content.map((l) => l.layer), ["mixed1"]);
  const image = input("image", [1, 3, 64, 64]);
  const names = [...style, ...content].map((l) => l.layer);
  const features = net.features(image, names);
  console.log(
    "  " + names.map((name) => `${name} ${formatShape(features[name].shape)}`).join(", "),
  );
  assertEquals(
    names.map((name) => features[name].shape),
    [[1, 32, 31, 31], [1, 64, 29, 29], [1, 192, 12, 12], [1, 256, 5, 5], [1, 288, 5, 5], [
      1,
      288,
      5,
      5,
    ]],
  );
  const session = await createSession(toOnnx(features), { backend: "wasm" });
  try {
    const out = await session.run({
      image: Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => (i * 37 % 101) / 100),
    });
    for (const name of names) {
      assert(out[name].every((v) => Number.isFinite(v) && v >= 0), `${name}: relu outputs`);
      assert(out[name].some((v) => v > 0), `${name}: not all zero`);
    }
  } finally {
    await session.release();
  }
});

Deno.test("inception: minSize is the smallest side mixed2 fits", async () => {
  const net = await loadInception();
  assertEquals(net.description.minSize, 27);
  const mixed2 = net.features(input("a", [1, 3, 27, 27]), ["mixed2"]).mixed2;
  assertEquals(mixed2.shape, [1, 288, 1, 1]);
  assertThrows(
    () => net.features(input("b", [1, 3, 26, 40]), ["mixed2"]),
    "images need at least 27×27 pixels",
  );
  // Below 27 the stem's last max pool has no window left.
  const loose = new FeatureNetwork({ ...net.description, minSize: 1 }, net.weights);
  assertThrows(() => loose.features(input("c", [1, 3, 26, 26]), ["mixed2"]), "does not fit");
});

Deno.test("inception: an unknown layer gives a clear error", async () => {
  const net = await loadInception();
  assertThrows(() => net.features(input("x", [1, 3, 64, 64]), ["mixed11"]), 'no layer "mixed11"');
  await assertRejects(() => loadInception({ layers: ["mixed1", "relu4_2"] }), 'no layer "relu4_2"');
  // Batch-norm layers are folded into their convolution; their Keras names are not rows.
  assertThrows(
    () => net.features(input("y", [1, 3, 64, 64]), ["batch_normalization_1"]),
    'no layer "batch_normalization_1"',
  );
});

Deno.test("inception: kerasLayers folds batch norm, maps names and leaves the head aside", () => {
  const node = (...names: string[]) => [names.map((n) => [n, 0, 0, {}])];
  const layers: KerasLayer[] = [
    { name: "in", class_name: "InputLayer", config: {}, inbound_nodes: [] },
    {
      name: "c1",
      class_name: "Conv2D",
      config: {
        filters: 4,
        kernel_size: [1, 7],
        strides: [1, 1],
        padding: "same",
        use_bias: false,
      },
      inbound_nodes: node("in"),
    },
    {
      name: "bn1",
      class_name: "BatchNormalization",
      config: { axis: 3, epsilon: 0.001, center: true, scale: false },
      inbound_nodes: node("c1"),
    },
    {
      name: "a1",
      class_name: "Activation",
      config: { activation: "relu" },
      inbound_nodes: node("bn1"),
    },
    {
      name: "p1",
      class_name: "AveragePooling2D",
      config: { pool_size: [3, 3], strides: [1, 1], padding: "same" },
      inbound_nodes: node("in"),
    },
    { name: "m", class_name: "Concatenate", config: { axis: -1 }, inbound_nodes: node("a1", "p1") },
    { name: "f", class_name: "Flatten", config: {}, inbound_nodes: node("m") },
    { name: "d", class_name: "Dense", config: { units: 2 }, inbound_nodes: node("f") },
  ];
  const { layers: rows, rest, aliases } = kerasLayers(layers);
  assertEquals(rows, [
    {
      name: "c1",
      type: "conv",
      input: "input",
      filters: 4,
      kernel: [1, 7],
      stride: [1, 1],
      padding: "same",
      weight: "c1/kernel",
      bias: undefined,
      batchNorm: {
        mean: "bn1/moving_mean",
        variance: "bn1/moving_variance",
        scale: undefined,
        offset: "bn1/beta",
        epsilon: 0.001,
      },
    },
    { name: "a1", type: "relu", input: "c1" },
    {
      name: "p1",
      type: "pool",
      input: "input",
      op: "avg",
      kernel: [3, 3],
      stride: [1, 1],
      padding: "same",
      swappable: false,
    },
    { name: "m", type: "concat", inputs: ["a1", "p1"] },
  ]);
  assertEquals(rest.map((l) => l.name), ["f", "d"]);
  assertEquals(aliases.get("bn1"), "c1");
});
