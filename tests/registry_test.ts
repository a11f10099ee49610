/**
 * The network registry: its records agree with themselves (descriptions,
 * defaults, loaders, browser flags), `auto` (VGG-19 once cached, else the
 * offline InceptionV3), seeded random networks, local weight files.
 */

import { loadNetwork, type NetworkRecord, NETWORKS } from "../mod.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { networkFromFile, networkRecord, resolveNetwork } from "../core/network/registry.ts";
import { vggDescription, vggLayers } from "../core/network/vgg.ts";
import { MemoryStore } from "../core/network/weight_store.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./support/assert.ts";
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
  const choices = 'unknown network "resnet"; choose auto, inception, vgg19, vgg16, random, tiny';
  await assertRejects(() => loadNetwork("resnet"), choices);
  assertThrows(() => networkRecord("resnet"), choices);
  await assertRejects(() => resolveNetwork("resnet"), choices);
  for (const n of NETWORKS) {
    assert(n.license && n.source && n.size, n.name);
    assert(n.title && !n.title.includes("\n"), `${n.name}: a one-line title`);
    assertEquals(networkRecord(n.name), n);
  }
});

Deno.test("records: which run in a browser, which are made from the seed", () => {
  const flags = (key: "browser" | "seeded") =>
    Object.fromEntries(NETWORKS.map((n: NetworkRecord) => [n.name, n[key]]));
  assertEquals(flags("browser"), {
    inception: true,
    vgg19: false,
    vgg16: false,
    random: true,
    tiny: true,
  });
  assertEquals(flags("seeded"), {
    inception: false,
    vgg19: false,
    vgg16: false,
    random: true,
    tiny: true,
  });
});

Deno.test("records: each describes itself with its own defaults, and loads", async () => {
  for (const record of NETWORKS) {
    const description = await record.describe();
    assertEquals(description.name, record.name);
    assertEquals(description.defaults, record.defaults, `${record.name}: defaults`);
    const names = new Set(description.layers.map((l) => l.name));
    for (const { layer } of [...record.defaults.style, ...record.defaults.content]) {
      assert(names.has(layer), `${record.name}: default layer ${layer} is in the table`);
    }
    if (record.name === "vgg19" || record.name === "vgg16") continue; // below, from a local file
    const net = await record.load({ seed: 2 });
    assertEquals(net.name, record.name);
    assertEquals(net.description.defaults, record.defaults);
    assertEquals(net.layerNames, description.layers.map((l) => l.name));
  }
});

Deno.test("records: VGG loads into a store from its weights file, and needs one", async () => {
  for (const variant of ["vgg19", "vgg16"] as const) {
    const record = networkRecord(variant);
    await assertRejects(() => record.load(), "a weight store is needed");
    // A file with conv1_1 only: enough for relu1_1, and cheap.
    const first = { ...vggDescription(variant), layers: vggLayers(variant).slice(0, 2) };
    const server = startWeightServer(encodeSafetensors(rawWeights(randomWeights(first, 1))));
    try {
      const net = await record.load({
        store: new MemoryStore(),
        url: server.url,
        layers: () => ["relu1_1"],
      });
      assertEquals(net.name, variant);
      assertEquals(net.weights.get("features.0.weight")?.shape, [64, 3, 3, 3]);
    } finally {
      await server.close();
    }
  }
});

Deno.test("auto without a weight store is the offline InceptionV3", async () => {
  const notices: string[] = [];
  const record = await resolveNetwork("auto", { onNotice: (m) => notices.push(m) });
  assertEquals(record.name, "inception");
  assertEquals(notices.length, 1);
});

Deno.test("a local weights file: VGG-16 and VGG-19 told apart by their tensors", () => {
  for (const variant of ["vgg16", "vgg19"] as const) {
    const file = encodeSafetensors(rawWeights(randomWeights(vggDescription(variant), 1)));
    assertEquals(networkFromFile(file, { source: `${variant}.safetensors` }).name, variant);
  }
});
