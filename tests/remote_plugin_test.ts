/**
 * Plugins whose code runs elsewhere: the sandbox side records the API calls
 * a plugin makes on stand-ins, the compiling side replays them with the real
 * tensors. The objective of a remote plugin equals that of the same plugin
 * run directly; recordings that step outside the API, or are too big, are
 * refused; and the answers survive structured cloning (as over postMessage).
 */

import { transform } from "sucrase";
import * as api from "../mod.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { compileObjective } from "../core/objective.ts";
import { pluginsFromModule } from "../core/plugin_module.ts";
import {
  answerPluginRequest,
  describePlugin,
  MAX_CALLS,
  MAX_CONSTANT_VALUES,
  type PluginRequest,
  recordingApi,
  remotePlugin,
  replay,
} from "../core/remote_plugin.ts";
import { pluginLayers } from "../core/plugin.ts";
import { uniform } from "../core/random.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./support/assert.ts";

const GUIDED_GRAM =
  `import { definePlugin, div, gramMatrix, layersOption, mul, numberOption, reduceSum,
  resolveLayers, square, sub, addN, type Tensor } from "stylegram";

// A Gram cost written as a user would, with masks and a numeric option.
export const myGram = definePlugin({
  name: "my-gram",
  description: "Gram matrices, inside the masks when there are some",
  reference: "style",
  options: {
    layers: layersOption({ default: "style", description: "layers" }),
    power: numberOption({ default: 1, min: 0.5, max: 2, description: "exponent of the distance" }),
  },
  layers: (o, network) => resolveLayers(o.layers, network, "my-gram").map((l) => l.layer),
  targets: ({ features, network }, o) =>
    Object.fromEntries(resolveLayers(o.layers, network, "my-gram").map((l, i) => {
      const f = features(l.layer);
      return ["g" + i, mul(gramMatrix(f), 1 / (f.shape[2] * f.shape[3]))];
    })),
  cost: ({ features, targets, mask, network }, o) =>
    addN(resolveLayers(o.layers, network, "my-gram").map((l, i): Tensor => {
      const m = mask(l.layer);
      const f = m ? mul(features(l.layer), m) : features(l.layer);
      const n = f.shape[2] * f.shape[3];
      const d = reduceSum(square(sub(div(gramMatrix(f), n), targets["g" + i])));
      return mul(d, l.weight);
    })),
});
`;

const compile = (code: string) =>
  transform(code, { transforms: ["typescript", "imports"], filePath: "x.ts" }).code;

/** The sandbox side, in this process; answers go through structuredClone like a message. */
function sandbox(code: string) {
  const plugins = new Map(
    pluginsFromModule(compile(code), { name: "x.ts", api: recordingApi(api) }).map((
      p,
    ) => [p.name, p]),
  );
  const asked: PluginRequest[] = [];
  const ask = async (request: PluginRequest) => {
    asked.push(structuredClone(request));
    return structuredClone(await answerPluginRequest(structuredClone(request), plugins));
  };
  return { plugins, ask, asked };
}

const net = new FeatureNetwork(TINY, randomWeights(TINY, 3));
const info = { name: "tiny", layers: net.layerNames, defaults: TINY.defaults };
const noise = (w: number, h: number, seed: number) =>
  api.rgbImage(w, h, uniform(3 * w * h, seed, { lo: 0, hi: 1 }));
const size = { width: 12, height: 10 };
const styles = [{ image: noise(16, 16, 12), weight: 2 }, { image: noise(9, 14, 13), weight: 1 }];
const pixels = uniform(3 * 12 * 10, 21, { lo: 0.1, hi: 0.9 });

Deno.test("a remote plugin compiles to the very objective of the same plugin run here", async () => {
  const direct = pluginsFromModule(compile(GUIDED_GRAM), { name: "x.ts", api })[0];
  const box = sandbox(GUIDED_GRAM);
  const remote = remotePlugin(describePlugin(box.plugins.get("my-gram")!), { ask: box.ask, api });
  assertEquals(remote.spec.options, direct.spec.options, "the option records cross over");
  for (
    const guidance of [undefined, {
      styles: [api.maskImage(12, 10, new Float32Array(120).fill(0.5))],
    }]
  ) {
    const use = remote.use({ power: 1.5 }, 3);
    await remote.prepare(use.options, info);
    assertEquals(pluginLayers(use, info), ["relu1", "relu2", "relu3"]);
    const spec = { network: net, size, styles, guidance };
    const a = await compileObjective({ ...spec, plugins: [direct.use({ power: 1.5 }, 3)] }, {
      backend: "wasm",
    });
    const b = await compileObjective({ ...spec, plugins: [use] }, { backend: "wasm" });
    const [x, y] = [await a.evaluate(pixels), await b.evaluate(pixels)];
    assertEquals(y.total, x.total);
    assertEquals([...y.gradient], [...x.gradient]);
    await a.release();
    await b.release();
  }
  // The sandbox was asked for layers, then targets per style image, then costs.
  const kinds = new Set(box.asked.map((r) => r.fn));
  assertEquals([...kinds].sort(), ["cost", "layers", "targets"]);
});

const STATISTICS_GRAM =
  `import { add, addN, constant, definePlugin, div, gramMatrix, layersOption, mul, reduceSum,
  resolveLayers, square, sub, type Tensor } from "stylegram";

// A Gram cost written as sums over positions, so it can go in tiles.
export const tiledGram = definePlugin({
  name: "tiled-gram",
  description: "Gram matrices from sums over positions",
  reference: "style",
  options: { layers: layersOption({ default: "style", description: "layers" }) },
  layers: (o, network) => resolveLayers(o.layers, network, "tiled-gram").map((l) => l.layer),
  statistics: ({ features, mask, network }, o) =>
    Object.fromEntries(resolveLayers(o.layers, network, "tiled-gram").flatMap((l, i) => {
      const f = features(l.layer);
      const m = mask(l.layer);
      return [
        ["g" + i, gramMatrix(m ? mul(f, m) : f)],
        ["n" + i, m ? reduceSum(square(m)) : constant(f.shape[2] * f.shape[3])],
      ];
    })),
  targets: ({ statistics, network }, o) =>
    Object.fromEntries(resolveLayers(o.layers, network, "tiled-gram").map((_, i) =>
      ["g" + i, div(statistics["g" + i], statistics["n" + i])]
    )),
  cost: ({ statistics, targets, shape, network }, o) =>
    addN(resolveLayers(o.layers, network, "tiled-gram").map((l, i): Tensor => {
      const [, c] = shape(l.layer);
      const n = add(statistics["n" + i], 1e-6);
      const d = reduceSum(square(sub(div(statistics["g" + i], n), targets["g" + i])));
      return mul(d, l.weight / (c * c));
    })),
});
`;

Deno.test("a remote plugin with statistics goes in tiles, equal to the same plugin run here", async () => {
  const direct = pluginsFromModule(compile(STATISTICS_GRAM), { name: "x.ts", api })[0];
  const box = sandbox(STATISTICS_GRAM);
  const description = describePlugin(box.plugins.get("tiled-gram")!);
  assertEquals([description.statistics, description.targets], [true, true]);
  const remote = remotePlugin(description, { ask: box.ask, api });
  const use = remote.use({}, 3);
  await remote.prepare(use.options, info);
  const big = { width: 48, height: 40 };
  const spec = { network: net, size: big, styles, tiles: { interior: 12, halo: 12 } };
  const a = await compileObjective({ ...spec, plugins: [direct.use({}, 3)] }, { backend: "wasm" });
  const b = await compileObjective({ ...spec, plugins: [use] }, { backend: "wasm" });
  assert((b.plan?.windows.length ?? 1) > 1, "the remote plugin's objective is tiled");
  const image = uniform(3 * 48 * 40, 22, { lo: 0.1, hi: 0.9 });
  const [x, y] = [await a.evaluate(image), await b.evaluate(image)];
  assertEquals(y.total, x.total);
  assertEquals([...y.gradient], [...x.gradient]);
  await a.release();
  await b.release();
  assert(box.asked.some((r) => r.fn === "statistics"), "the sandbox was asked for statistics");
});

Deno.test("a recording that leaves the API, or is too big, is refused on either side", async () => {
  const step = (call: string) => ({
    steps: [{ leaf: { kind: "features" as const, key: "a" } }, { call, args: [{ $t: 0 }] }],
    result: { $t: 1 },
  });
  const leaf = () => api.input("a", [1, 2, 3, 3]);
  assertEquals((replay(step("square"), { api, leaf }) as api.Tensor).shape, [1, 2, 3, 3]);
  for (const call of ["Tensor", "constructor", "toString", "__proto__", "fetch", "stylize"]) {
    assertThrows(() => replay(step(call), { api, leaf }), "");
  }
  assertThrows(
    () => replay({ steps: [{ call: "square", args: [{ $t: 5 }] }], result: null }, { api, leaf }),
    "refers to a tensor it has not made",
  );
  assertThrows(
    () =>
      replay({
        steps: Array(MAX_CALLS + 1).fill({ leaf: { kind: "features", key: "a" } }),
        result: null,
      }, { api, leaf }),
    "the graph is too big",
  );
  // In the sandbox: a graph of a million nodes stops at the limit, with a message.
  const huge = sandbox(`import { definePlugin, add, reduceSum } from "stylegram";
export const huge = definePlugin({ name: "huge", description: "", options: {}, layers: () => ["image"],
  cost: ({ features }) => { let x = features("image"); for (let i = 0; i < 1e6; i++) x = add(x, 1); return reduceSum(x); } });`);
  const answer = await huge.ask({
    fn: "cost",
    plugin: "huge",
    options: {},
    network: info,
    shapes: { features: { image: [1, 3, 4, 4] }, targets: {}, mask: {} },
  });
  assert(
    "error" in answer && answer.error.includes(`over ${MAX_CALLS} operations`),
    JSON.stringify(answer),
  );
  // A tensor made behind the API's back cannot be recorded.
  const sneaky = sandbox(`import { definePlugin, Tensor, reduceSum } from "stylegram";
export const sneaky = definePlugin({ name: "sneaky", description: "", options: {}, layers: () => ["image"],
  cost: ({ features }) => { const f = features("image"); return reduceSum(new Tensor(f.op, [f], f.attrs, f.shape)); } });`);
  const remote = remotePlugin(describePlugin(sneaky.plugins.get("sneaky")!), {
    ask: sneaky.ask,
    api,
  });
  await remote.prepare({}, info);
  await assertRejects(
    () =>
      compileObjective({ network: net, size, plugins: [remote.use({}, 1)] }, { backend: "wasm" }),
    "a tensor made outside the stylegram API was used",
  );
});

Deno.test("the sandbox checks what a plugin returns, where its code is", async () => {
  const box = sandbox(`import { definePlugin } from "stylegram";
export const odd = definePlugin({ name: "odd", description: "", options: {}, layers: () => ["image"],
  cost: () => 42 as never });`);
  const answer = await box.ask({
    fn: "cost",
    plugin: "odd",
    options: {},
    network: info,
    shapes: { features: { image: [1, 3, 4, 4] }, targets: {}, mask: {} },
  });
  assertEquals(answer, { error: "cost returned a number, not a tensor expression" });
});

Deno.test("replay keeps its own budget: constants, tensor sizes and multiply-adds, whatever the sandbox says", () => {
  const leaf = () => api.input("a", [1, 4]);
  const forged = {
    steps: [{
      call: "constant",
      args: [{ $f32: new Array(MAX_CONSTANT_VALUES + 1).fill(0) }, [MAX_CONSTANT_VALUES + 1]],
    }],
    result: { $t: 0 },
  };
  assertThrows(() => replay(forged, { api, leaf }), "too many constant values");
  const plain = {
    steps: [{
      call: "constant",
      args: [new Array(MAX_CONSTANT_VALUES + 1).fill(0), [MAX_CONSTANT_VALUES + 1]],
    }],
    result: { $t: 0 },
  };
  assertThrows(() => replay(plain as never, { api, leaf }), "too many constant values");
  // [1, 4e4] × [4e4, 1] rows: an outer product of 1.6e9 elements.
  const n = 40_000;
  const outer = {
    steps: [
      { call: "constant", args: [{ $f32: new Array(n).fill(1) }, [n, 1]] },
      { call: "constant", args: [{ $f32: new Array(n).fill(1) }, [1, n]] },
      { call: "mul", args: [{ $t: 0 }, { $t: 1 }] },
    ],
    result: { $t: 2 },
  };
  assertThrows(
    () => replay(outer, { api, leaf }),
    "the graph makes a tensor of 1600000000 elements",
  );
  // 10 000² × 10 000² : 1e12 multiply-adds.
  const big = 10_000;
  const work = {
    steps: [
      { call: "constant", args: [{ $f32: [1] }, [1, 1]] },
      { call: "reshape", args: [{ $t: 0 }, [1, 1]] },
    ],
    result: { $t: 1 },
  };
  assertEquals((replay(work, { api, leaf }) as api.Tensor).shape, [1, 1]);
  const matmuls = {
    steps: [
      { leaf: { kind: "features" as const, key: "a" } },
      ...Array.from({ length: 3 }, () => ({ call: "matmul", args: [{ $t: 0 }, { $t: 0 }] })),
    ],
    result: { $t: 1 },
  };
  const square = () => api.input("a", [big, big]);
  assertThrows(() => replay(matmuls, { api, leaf: square }), "too much work");
});
