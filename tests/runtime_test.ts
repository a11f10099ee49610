/**
 * A VGG-shaped network (random weights) with Gram-matrix style costs and a
 * content cost: the image gradient of one compiled graph, on every backend,
 * against finite differences and against the other backends.
 */

import "./support/gpu_env.ts";
import {
  avgPool,
  constant,
  conv2d,
  createSession,
  grad,
  gramMatrix,
  input,
  mul,
  reduceSum,
  relu,
  square,
  sub,
  type Tensor,
  toOnnx,
} from "../mod.ts";
import type { OnnxGraph } from "../core/graph/onnx.ts";
import { maxPool } from "../core/graph/ops/pool.ts";
import { normal, uniform } from "../core/random.ts";
import type { BackendName } from "../core/runtime/session.ts";
import { findWebGpuAdapter } from "../core/runtime/webgpu_adapter.ts";
import { evaluate } from "./support/reference.ts";
import { relativeError } from "./support/gradcheck.ts";

const SIZE = 12;

/** conv-relu ×2, max pool, conv-relu ×2, avg pool, conv-relu: style at three layers, content at one. */
function vggShaped() {
  const image = input("image", [1, 3, SIZE, SIZE]);
  let x: Tensor = image;
  let channels = 3;
  const features: Tensor[] = [];
  let seed = 10;
  const block = (out: number) => {
    const w = normal(out * channels * 9, seed++, Math.sqrt(2 / (channels * 9)));
    const b = uniform(out, seed++, { lo: -0.1, hi: 0.1 });
    x = relu(conv2d(x, constant(w, [out, channels, 3, 3]), { bias: constant(b), padding: 1 }));
    channels = out;
    features.push(x);
  };
  block(6);
  block(6);
  x = maxPool(x, { kernel: 2 });
  block(8);
  block(8);
  x = avgPool(x, { kernel: 2 });
  block(10);
  const style = [features[0], features[2], features[4]];
  const content = features[3];
  const terms = style.map((f, i) => {
    const [, c, h, w] = f.shape;
    const target = constant(uniform(c * c, 50 + i, { lo: 0, hi: h * w * 0.1 }), [c, c]);
    return mul(reduceSum(square(sub(gramMatrix(f), target))), 1 / (4 * (c * h * w) ** 2));
  });
  const contentTarget = constant(uniform(content.size, 60, { lo: 0, hi: 0.5 }), content.shape);
  terms.push(mul(reduceSum(square(sub(content, contentTarget))), 0.5));
  const cost = terms.reduce((a, b) => sub(a, mul(b, -1)));
  const [g] = grad(cost, [image]);
  return { image, cost, graph: toOnnx({ cost, grad: g }) };
}

const net = vggShaped();
const pixels = uniform(3 * SIZE * SIZE, 5, { lo: 0, hi: 1 });

async function runOn(backend: BackendName, graph: OnnxGraph) {
  const session = await createSession(graph, { backend });
  if (session.backend !== backend) throw new Error(`asked for ${backend}, got ${session.backend}`);
  const out = await session.run({ image: pixels });
  await session.release();
  return out;
}

function finiteDifferences(): Float64Array {
  const x = Float64Array.from(pixels);
  const fd = new Float64Array(x.length);
  const h = 1e-6;
  for (let j = 0; j < x.length; j++) {
    const keep = x[j];
    x[j] = keep + h;
    const plus = evaluate([net.cost], { image: x })[0][0];
    x[j] = keep - h;
    const minus = evaluate([net.cost], { image: x })[0][0];
    x[j] = keep;
    fd[j] = (plus - minus) / (2 * h);
  }
  return fd;
}

const reference = {
  cost: evaluate([net.cost], { image: Float64Array.from(pixels) })[0][0],
  grad: finiteDifferences(),
};

const results: Partial<Record<BackendName, Record<string, Float32Array>>> = {};

async function checkBackend(backend: BackendName) {
  const out = await runOn(backend, net.graph);
  results[backend] = out;
  const costError = Math.abs(out.cost[0] - reference.cost) / Math.abs(reference.cost);
  const gradError = relativeError(out.grad, reference.grad);
  console.log(
    `${backend}: cost error ${costError.toExponential(2)}, gradient error ${
      gradError.toExponential(2)
    }`,
  );
  if (!(costError < 1e-5)) throw new Error(`${backend}: cost off by ${costError}`);
  if (!(gradError < 1e-4)) throw new Error(`${backend}: gradient off by ${gradError}`);
}

Deno.test("VGG-shaped gradient matches finite differences on wasm", async () => {
  await checkBackend("wasm");
});

Deno.test("VGG-shaped gradient matches finite differences on native", async () => {
  await checkBackend("native");
});

const adapter = await findWebGpuAdapter();
Deno.test({
  name: "VGG-shaped gradient matches finite differences on webgpu",
  ignore: !adapter,
  fn: async () => {
    console.log(`webgpu adapter: ${adapter!.description}`);
    await checkBackend("webgpu");
  },
});
if (!adapter) {
  console.log(
    "skipping the webgpu case: no WebGPU adapter (install mesa-vulkan-drivers for a software one)",
  );
}

Deno.test("backends agree on cost and gradient", async () => {
  for (const b of ["wasm", "native", ...(adapter ? ["webgpu"] as const : [])] as const) {
    results[b] ??= await runOn(b, net.graph);
  }
  const base = results.wasm!;
  for (const [b, out] of Object.entries(results)) {
    const costDiff = Math.abs(out!.cost[0] - base.cost[0]) / Math.abs(base.cost[0]);
    const gradDiff = relativeError(out!.grad, base.grad);
    if (!(costDiff < 1e-5 && gradDiff < 1e-5)) {
      throw new Error(`${b} disagrees with wasm: cost ${costDiff}, gradient ${gradDiff}`);
    }
  }
});

Deno.test("auto takes native where it loads, and says so", async () => {
  const notices: string[] = [];
  const x = input("x", [2]);
  const session = await createSession(toOnnx({ y: mul(x, 3) }), {
    onNotice: (m) => notices.push(m),
  });
  try {
    if (session.backend !== "native") throw new Error(`auto chose ${session.backend}`);
    const { y } = await session.run({ x: Float32Array.of(1, 2) });
    if (y[0] !== 3 || y[1] !== 6) throw new Error(`got ${Array.from(y)}`);
    if (!notices.some((m) => m.startsWith("backend: native"))) {
      throw new Error(`no notice of the choice: ${notices.join(" | ")}`);
    }
  } finally {
    await session.release();
  }
});
