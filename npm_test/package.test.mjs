// The installed package under Node: its exports, its dependencies (the
// wasm runtime with worker threads, the native runtime, nsfwjs's weights)
// and its errors.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as stylegram from "stylegram";

const {
  availableBackends,
  createSession,
  definePlugin,
  grad,
  input,
  loadNetwork,
  numberOption,
  reduceMean,
  reduceSum,
  square,
  sub,
  toOnnx,
} = stylegram;

// Runs first: the wasm runtime fixes its thread count at its first session.
test("wasm runs on several threads under Node", async () => {
  const x = input("x", [1, 3, 8, 8]);
  const cost = reduceSum(square(x));
  const [dx] = grad(cost, [x]);
  const session = await createSession(toOnnx({ cost, dx }), { backend: "wasm", threads: 2 });
  try {
    assert.match(session.device, /2 thread/);
    const out = await session.run({ x: new Float32Array(3 * 8 * 8).fill(1) });
    assert.equal(out.cost[0], 192);
    assert.deepEqual([...new Set(out.dx)], [2]);
  } finally {
    await session.release();
  }
});

test("the package root exports the documented API, and not the plumbing", () => {
  for (
    const name of [
      "stylize",
      "definePlugin",
      "loadNetwork",
      "createSession",
      "content",
      "style",
      "tv",
      "meanCovariance",
      "BUILTIN_PLUGINS",
      "parseRecipe",
      "NETWORKS",
    ]
  ) {
    assert.ok(name in stylegram, `missing export ${name}`);
  }
  for (const name of ["isFinite", "TensorCache", "compileObjective", "loadInceptionClassifier"]) {
    assert.ok(!(name in stylegram), `internal ${name} is exported`);
  }
  assert.ok(Object.keys(stylegram).length <= 80, `${Object.keys(stylegram).length} exports`);
});

test("onnxruntime-node's CPU binary loads (its install script was skipped)", async () => {
  assert.ok((await availableBackends()).includes("native"));
});

test("the inception network reads its weights from the installed nsfwjs", async () => {
  const network = await loadNetwork("inception");
  assert.ok(network.layerNames.includes("mixed5"));
});

test("a plugin's bad options are refused, naming the plugin and the option", () => {
  const grey = definePlugin({
    name: "grey",
    description: "mean colour towards a grey level",
    options: { level: numberOption({ default: 0.5, min: 0, max: 1, description: "grey level" }) },
    layers: () => ["image"],
    cost: ({ features }, { level }) => square(sub(reduceMean(features("image")), level)),
  });
  assert.throws(() => grey.use({ level: 2 }), /grey.*level/);
});
