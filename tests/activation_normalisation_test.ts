/**
 * Gatys et al.'s mean-activation normalisation: after it, every channel of
 * every relu layer up to the deepest asked has mean activation 1 over the
 * calibration images, and every feature map is the original's divided by a
 * positive per-channel constant (for max and average pooling alike).
 */

import { createSession, input, type RgbImage, rgbImage, toOnnx } from "../mod.ts";
import { meanActivations, normaliseActivations } from "../core/network/activation_normalisation.ts";
import type { LayerSpec, NetworkDescription } from "../core/network/description.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { vggDescription } from "../core/network/vgg.ts";
import { uniform } from "../core/random.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./support/assert.ts";

/** Smooth random colour blobs plus noise, in [0, 1]: closer to photographs than pure noise. */
function picture(width: number, height: number, seed: number): RgbImage {
  const coarse = uniform(3 * 16, seed, { lo: 0, hi: 1 });
  const noise = uniform(3 * width * height, seed + 1, { lo: -0.15, hi: 0.15 });
  const data = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = c * width * height + y * width + x;
        const cell = c * 16 + Math.floor((4 * y) / height) * 4 + Math.floor((4 * x) / width);
        data[i] = Math.min(1, Math.max(0, coarse[cell] + noise[i]));
      }
    }
  }
  return rgbImage(width, height, data);
}

/** Features of `image` at `layers`, run on wasm. */
async function featuresOf(
  network: FeatureNetwork,
  image: RgbImage,
  layers: readonly string[],
  pooling?: "max" | "avg",
): Promise<Record<string, Float32Array>> {
  const t = network.features(input("image", [1, 3, image.height, image.width]), layers, {
    pooling,
  });
  const session = await createSession(toOnnx(t), { backend: "wasm" });
  try {
    return await session.run({ image: image.data });
  } finally {
    await session.release();
  }
}

/** Checks `after` = `before` / d_c per channel, with d_c > 0 the same at every position. */
function assertChannelRescaling(
  before: Float32Array,
  after: Float32Array,
  divisors: Float64Array,
  what: string,
): void {
  const channels = divisors.length;
  const positions = before.length / channels;
  let largest = 0;
  for (const v of before) largest = Math.max(largest, v);
  for (let c = 0; c < channels; c++) {
    assert(divisors[c] > 0, `${what} channel ${c}: divisor ${divisors[c]}`);
    for (let p = c * positions; p < (c + 1) * positions; p++) {
      // Compare scaled values, so zeros and tiny values need no special case.
      const err = Math.abs(after[p] * divisors[c] - before[p]);
      assert(
        err <= 1e-5 * largest,
        `${what} channel ${c} position ${p - c * positions}: ${after[p]} · ${divisors[c]} ≠ ${
          before[p]
        }`,
      );
    }
  }
}

const VGG = vggDescription("vgg19");
// Random VGG-19 weights (zero biases) give channels means spread over orders of magnitude.
const vgg = new FeatureNetwork(VGG, randomWeights(VGG, 5));
// Two sizes, so that images are grouped by size and weighed alike.
const calibration = [picture(48, 48, 1), picture(48, 48, 3), picture(64, 40, 5)];
const RELUS = ["relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3"]
  .concat(["relu3_4", "relu4_1"]);

Deno.test("normalised VGG-19: every channel's mean activation is 1 at every relu up to relu4_1", async () => {
  const normalised = await normaliseActivations(vgg, calibration, {
    layers: ["relu4_1"],
    backend: "wasm",
  });
  assertEquals(normalised.name, "vgg19");
  const before = await meanActivations(vgg, calibration, { layers: RELUS, backend: "wasm" });
  const after = await meanActivations(normalised, calibration, { layers: RELUS, backend: "wasm" });
  let spread = 1;
  for (const layer of RELUS) {
    const m = before.get(layer)!;
    const n = after.get(layer)!;
    assertEquals(n.length, m.length);
    for (let c = 0; c < m.length; c++) {
      // A channel that never fires on these images cannot be normalised and stays at 0.
      if (m[c] === 0) assertEquals(n[c], 0, `${layer} channel ${c}`);
      else assertAlmostEquals(n[c], 1, 1e-3);
    }
    const live = [...m].filter((v) => v > 0);
    assert(live.length > 0.9 * m.length, `${layer}: only ${live.length} channels fire`);
    spread = Math.max(spread, Math.max(...live) / Math.min(...live));
  }
  // Otherwise the test would not show much.
  assert(spread > 10, `channel means differ by a factor of ${spread} only`);
  // Layers beyond the deepest asked keep their weights.
  assertEquals(normalised.weights.get("features.21.weight"), vgg.weights.get("features.21.weight"));
  assert(normalised.weights.get("features.19.weight") !== vgg.weights.get("features.19.weight"));
});

Deno.test("normalised VGG-19: features are the originals divided by each channel's mean", async () => {
  const layers = ["relu1_1", "relu2_1", "relu3_1", "relu3_4", "pool3", "relu4_1"];
  const means = await meanActivations(vgg, calibration, {
    layers: layers.map((l) => (l === "pool3" ? "relu3_4" : l)),
    backend: "wasm",
  });
  const normalised = await normaliseActivations(vgg, calibration, {
    layers: ["relu4_1"],
    backend: "wasm",
  });
  const image = picture(40, 56, 9); // not a calibration image
  for (const pooling of ["max", "avg"] as const) {
    const before = await featuresOf(vgg, image, layers, pooling);
    const after = await featuresOf(normalised, image, layers, pooling);
    for (const [i, layer] of layers.entries()) {
      const m = means.get(layer === "pool3" ? "relu3_4" : layer)!.map((v) => (v > 0 ? v : 1));
      assertChannelRescaling(before[layer], after[layer], m, `${pooling} ${layers[i]}`);
    }
  }
});

Deno.test("meanActivations: the mean over positions of each image, images weighing alike", async () => {
  const images = [picture(16, 16, 21), picture(24, 12, 22)];
  const net = new FeatureNetwork(TINY, randomWeights(TINY, 2));
  for (const pooling of ["max", "avg"] as const) {
    const means = await meanActivations(net, images, {
      layers: ["relu1", "relu3"],
      pooling,
      backend: "wasm",
    });
    for (const layer of ["relu1", "relu3"]) {
      const want = new Float64Array(means.get(layer)!.length);
      for (const image of images) {
        const f = (await featuresOf(net, image, [layer], pooling))[layer];
        const n = f.length / want.length;
        for (let c = 0; c < want.length; c++) {
          let s = 0;
          for (let p = c * n; p < (c + 1) * n; p++) s += f[p];
          want[c] += s / n / images.length;
        }
      }
      means.get(layer)!.forEach((v, c) => assertAlmostEquals(v, want[c], 1e-6 * want[c] + 1e-12));
    }
  }
});

Deno.test("normalised tiny network: average pooling measured, a dead channel left alone", async () => {
  const weights = new Map(randomWeights(TINY, 4));
  // conv1's channel 2 never fires: its bias is far below anything the kernel adds.
  weights.set("conv1.bias", { shape: [4], data: Float32Array.of(0.1, 0, -1000, 0.2) });
  const net = new FeatureNetwork(TINY, weights);
  const images = [picture(16, 16, 31), picture(16, 16, 32)];
  const normalised = await normaliseActivations(net, images, { pooling: "avg", backend: "wasm" });
  const layers = ["relu1", "relu2", "relu3"];
  const means = await meanActivations(normalised, images, {
    layers,
    pooling: "avg",
    backend: "wasm",
  });
  for (const layer of layers) {
    means.get(layer)!.forEach((v, c) => {
      if (layer === "relu1" && c === 2) assertEquals(v, 0);
      else assertAlmostEquals(v, 1, 1e-4);
    });
  }
  for (const [name, t] of normalised.weights) {
    assert(t.data.every(Number.isFinite), `${name} has non-finite values`);
  }
});

Deno.test("normaliseActivations: refuses batch norm, relu-less convolutions and no images", async () => {
  const net = new FeatureNetwork(TINY, randomWeights(TINY, 1));
  await assertRejects(
    () => normaliseActivations(net, [], { backend: "wasm" }),
    "network tiny: no images to measure mean activations on",
  );
  const image = [picture(8, 8, 1)];
  const withoutRelu: NetworkDescription = {
    ...TINY,
    layers: TINY.layers.filter((l) => l.name !== "relu3"),
  };
  await assertRejects(
    () =>
      normaliseActivations(new FeatureNetwork(withoutRelu, net.weights), image, {
        backend: "wasm",
      }),
    "network tiny: cannot normalise the mean activations of conv3: no relu layer reads it",
  );
  const batchNorm: NetworkDescription = {
    ...TINY,
    layers: TINY.layers.map((l): LayerSpec =>
      l.name === "conv2"
        ? { ...l, batchNorm: { mean: "m", variance: "v", epsilon: 1e-3 } } as LayerSpec
        : l
    ),
  };
  await assertRejects(
    () =>
      normaliseActivations(new FeatureNetwork(batchNorm, net.weights), image, {
        backend: "wasm",
      }),
    "cannot normalise the mean activations of conv2: it has batch normalisation",
  );
});

Deno.test("normaliseActivations: branches joined by concatenation are rescaled alike", async () => {
  const conv = (name: string, input: string, filters: number): LayerSpec => ({
    name,
    type: "conv",
    input,
    filters,
    kernel: 3,
    padding: 1,
    weight: `${name}.weight`,
    bias: `${name}.bias`,
  });
  const description: NetworkDescription = {
    ...TINY,
    name: "branches",
    layers: [
      conv("a", "input", 2),
      { name: "relu_a", type: "relu" },
      conv("b", "input", 3),
      { name: "relu_b", type: "relu" },
      { name: "pool_b", type: "pool", op: "max", kernel: 2, stride: 1, padding: [0, 0, 1, 1] },
      { name: "joined", type: "concat", inputs: ["relu_a", "pool_b"] },
      conv("c", "joined", 4),
      { name: "relu_c", type: "relu" },
    ],
  };
  const net = new FeatureNetwork(description, randomWeights(description, 6));
  const images = [picture(12, 12, 41)];
  const normalised = await normaliseActivations(net, images, { backend: "wasm" });
  const layers = ["relu_a", "relu_b", "relu_c"];
  const means = await meanActivations(normalised, images, { layers, backend: "wasm" });
  for (const layer of layers) means.get(layer)!.forEach((v) => assertAlmostEquals(v, 1, 1e-4));
});
