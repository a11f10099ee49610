/**
 * Network bundles: the pruned description and weights survive a round trip
 * and compute the same features; damaged bundles are named.
 */

import { createSession, input, loadNetwork, toOnnx } from "../mod.ts";
import { decodeNetworkBundle, encodeNetworkBundle } from "../core/network/bundle.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { defaultLayers } from "../core/network/network_record.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { uniform } from "../core/random.ts";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";

Deno.test("a bundle keeps only the layers asked for and computes the same features", async () => {
  const net = new FeatureNetwork(TINY, randomWeights(TINY, 9));
  const bytes = encodeNetworkBundle(net, ["relu2"]);
  const back = decodeNetworkBundle(bytes);
  assertEquals(back.layerNames, ["conv1", "relu1", "pool1", "conv2", "relu2"]);
  assertEquals(back.description.defaults.style.map((l) => l.layer), ["relu1", "relu2"]);
  const image = input("image", [1, 3, 8, 8]);
  const s1 = await createSession(toOnnx({ f: net.features(image, ["relu2"]).relu2 }), {
    backend: "wasm",
  });
  const s2 = await createSession(toOnnx({ f: back.features(image, ["relu2"]).relu2 }), {
    backend: "wasm",
  });
  const pixels = uniform(192, 1, { lo: 0, hi: 1 });
  assertEquals((await s1.run({ image: pixels })).f, (await s2.run({ image: pixels })).f);
});

Deno.test("the InceptionV3 bundle up to mixed2 is a few megabytes", async () => {
  const net = await loadNetwork("inception");
  // The web build keeps what the default layers need: that is everything up to mixed2.
  const bytes = encodeNetworkBundle(net, defaultLayers(net.description));
  assert(bytes.length < 6e6, `${bytes.length} bytes`);
  const back = decodeNetworkBundle(bytes);
  assertEquals(
    back.layerNames,
    decodeNetworkBundle(encodeNetworkBundle(net, ["mixed2"])).layerNames,
  );
  assertEquals(back.layerNames.at(-1), "mixed2");
  assertEquals(back.description.defaults.content.map((l) => l.layer), ["mixed1"]);
  assertEquals(back.description.inputPadding, 8);
});

Deno.test("damaged bundles give one-line errors", () => {
  const bytes = encodeNetworkBundle(new FeatureNetwork(TINY, randomWeights(TINY, 1)), ["relu3"]);
  assertThrows(
    () => decodeNetworkBundle(new Uint8Array(20), { source: "x.sgnb" }),
    "x.sgnb: not a stylegram network bundle",
  );
  assertThrows(
    () => decodeNetworkBundle(bytes.subarray(0, bytes.length - 40), { source: "x.sgnb" }),
    "x.sgnb: truncated",
  );
});
