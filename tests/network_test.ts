/**
 * Feature networks as built from their tables: the tiny network's feature
 * maps on onnxruntime against the independent float64 interpreter, layer by
 * layer; pooling swaps; mirror padding.
 */

import { createSession, input, toOnnx } from "../mod.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { uniform } from "../core/random.ts";
import { evaluate } from "./support/reference.ts";
import { relativeError } from "./support/gradcheck.ts";
import { assert, assertEquals } from "./support/assert.ts";

const net = new FeatureNetwork(TINY, randomWeights(TINY, 21));
const pixels = uniform(3 * 20 * 16, 4, { lo: 0, hi: 1 });

async function compare(options: { pooling?: "max" | "avg"; inputPadding?: number }) {
  const image = input("image", [1, 3, 16, 20]);
  const features = net.features(image, net.layerNames, options);
  const session = await createSession(toOnnx(features), { backend: "wasm" });
  const got = await session.run({ image: pixels });
  await session.release();
  const names = Object.keys(features);
  const want = evaluate(names.map((n) => features[n]), { image: Float64Array.from(pixels) });
  names.forEach((name, i) => {
    const err = relativeError(got[name], want[i]);
    assert(err < 1e-6, `${name}: relative error ${err}`);
  });
  return features;
}

Deno.test("tiny network: every layer matches the float64 interpreter", async () => {
  const f = await compare({});
  assertEquals(f.relu1.shape, [1, 4, 16, 20]);
  assertEquals(f.pool1.shape, [1, 4, 8, 10]);
  assertEquals(f.relu3.shape, [1, 8, 4, 5]);
});

Deno.test("tiny network with its pools swapped to average, and with mirror padding", async () => {
  await compare({ pooling: "avg" });
  const padded = await compare({ inputPadding: 2 });
  assertEquals(padded.relu1.shape, [1, 4, 20, 24]);
});
