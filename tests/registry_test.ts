/**
 * The network registry: names, `auto` (VGG-19 once cached, else the offline
 * InceptionV3), seeded random networks, local weight files.
 */

import {
  loadNetwork,
  MemoryStore,
  networkFromFile,
  NETWORKS,
  randomWeights,
  vggDescription,
} from "../mod.ts";
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { encodeSafetensors, rawWeights } from "./support/safetensors_writer.ts";
import { startWeightServer } from "./support/weight_server.ts";

Deno.test("auto is InceptionV3 until VGG-19's weights are cached, then VGG-19", async () => {
  const file = encodeSafetensors(rawWeights(randomWeights(vggDescription("vgg19"), 3)));
  const server = startWeightServer(file);
  try {
    const store = new MemoryStore();
    const notices: string[] = [];
    const options = { store, url: server.url, onNotice: (m: string) => notices.push(m) };
    assertEquals((await loadNetwork("auto", options)).name, "inception");
    assert(notices[0].startsWith("network: inception (offline)"), notices[0]);
    assertEquals(server.requests.length, 0);
    await loadNetwork("vgg19", options); // downloads the default layers' weights
    assert(server.requests.length > 0);
    server.reset();
    const net = await loadNetwork("auto", options);
    assertEquals(net.name, "vgg19");
    assertEquals(notices[notices.length - 1], "network: vgg19 (its weights are cached)");
    assertEquals(server.requests.length, 0, "a cache hit makes no request");
  } finally {
    await server.close();
  }
});

Deno.test("random and tiny networks are reproducible from the seed", async () => {
  const a = await loadNetwork("random", { seed: 4 });
  const b = await loadNetwork("random", { seed: 4 });
  const c = await loadNetwork("random", { seed: 5 });
  assertEquals(a.name, "random");
  assertEquals(a.weights.get("features.0.weight"), b.weights.get("features.0.weight"));
  assert(
    a.weights.get("features.0.weight")!.data[0] !== c.weights.get("features.0.weight")!.data[0],
  );
  assertEquals((await loadNetwork("tiny")).layerNames.length, 8);
});

Deno.test("unknown names list the choices; every entry has a licence and source", async () => {
  await assertRejects(
    () => loadNetwork("resnet"),
    'unknown network "resnet"; choose auto, inception, vgg19, vgg16, random, tiny',
  );
  for (const n of NETWORKS) assert(n.license && n.source && n.size, n.name);
});

Deno.test("a local weights file: VGG-16 and VGG-19 told apart by their tensors", () => {
  for (const variant of ["vgg16", "vgg19"] as const) {
    const file = encodeSafetensors(rawWeights(randomWeights(vggDescription(variant), 1)));
    assertEquals(networkFromFile(file, { source: `${variant}.safetensors` }).name, variant);
  }
});
