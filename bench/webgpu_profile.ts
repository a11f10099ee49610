/**
 * Where WebGPU time goes: runs the default objective of one network on the
 * webgpu backend with onnxruntime's profiler, once per layout (NCHW, the
 * backend's choice, and NHWC, onnxruntime's own), and prints per layout the
 * ms per evaluation, the GPU time per op type and the slowest shader
 * programs, and how far the total and the gradient are from native's at the
 * same pixels (a layout that is faster but wrong is no use: see
 * docs/design_notes.md). A kernel bug shows in the total; the gradient can
 * differ by ~1e-2 without one, where a max-pool window holds two values equal
 * to ~1e-6 and rounding picks the other one.
 * Each layout runs in a child process, because onnxruntime-web writes its
 * profile straight to stdout.
 *
 *     deno run -A bench/webgpu_profile.ts --network inception --size 512 --layouts NCHW,NHWC
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BUILTIN_PLUGINS, loadNetwork, parseRecipe, rgbImage } from "../mod.ts";
import { compileObjective } from "../core/objective.ts";
import { uniform } from "../core/random.ts";
import { findWebGpuAdapter } from "../core/runtime/webgpu_adapter.ts";
import { WEBGPU_SESSION_OPTIONS } from "../core/runtime/backends.ts";
import { ensureRuntimeDir } from "../io.ts";
import { fixed, median, printTable, ROOT, runChild } from "./measure.ts";

ensureRuntimeDir();

const { values } = parseArgs({
  options: {
    network: { type: "string", default: "inception" },
    size: { type: "string", default: "512" },
    layouts: { type: "string", default: "NCHW,NHWC" },
    evaluations: { type: "string", default: "3" },
    top: { type: "string", default: "12" },
    // Internal: one layout, in this process.
    child: { type: "string" },
  },
});
const size = Number(values.size);
const evaluations = Number(values.evaluations);

/** What a child reports besides onnxruntime's trace. */
interface ChildResult {
  layout: string;
  times: number[];
  gradientRelativeL2: number;
  totalRelativeError: number;
  adapter: string;
}

/** One event of onnxruntime's Chrome-trace profile. */
interface TraceEvent {
  cat: string;
  name: string;
  dur: number;
  ts: number;
}

if (values.child) await child(values.child === "NHWC" ? "NHWC" : "NCHW");
else await parent();

async function child(layout: "NCHW" | "NHWC"): Promise<void> {
  const adapter = await findWebGpuAdapter();
  if (!adapter) throw new Error("no WebGPU adapter here");
  const { recipe, uses } = parseRecipe({ network: values.network }, BUILTIN_PLUGINS);
  const network = await loadNetwork(values.network!, { seed: recipe.seed });
  const style = rgbImage(size, size, uniform(3 * size * size, 1, { lo: 0, hi: 1 }));
  const content = rgbImage(size, size, uniform(3 * size * size, 2, { lo: 0, hi: 1 }));
  const objective = await compileObjective({
    network,
    plugins: uses,
    size: { width: size, height: size },
    content,
    styles: [{ image: style, weight: 1 }],
  }, { backend: "native" });
  const graph = objective.graph;
  // The objective's one input is the image; its native session gives the expected answer.
  const image = uniform(3 * size * size, 10, { lo: 0, hi: 1 });
  const expected = await objective.evaluate(image);

  const ort = await import("onnxruntime-web/webgpu");
  ort.env.logLevel = "error";
  ort.env.webgpu.adapter = adapter.adapter as typeof ort.env.webgpu.adapter;
  const [ep] = WEBGPU_SESSION_OPTIONS.executionProviders as Record<string, unknown>[];
  const session = await ort.InferenceSession.create(graph.model, {
    ...WEBGPU_SESSION_OPTIONS,
    executionProviders: [{ ...ep, name: "webgpu", preferredLayout: layout }],
    graphOptimizationLevel: "all",
    enableProfiling: true,
  });
  const tensors = { image: new ort.Tensor("float32", image, [1, 3, size, size]) };
  const first = await session.run(tensors); // warm-up: pipelines, allocations
  const got = await first.gradient.getData() as Float32Array;
  const total = (await first.total.getData() as Float32Array)[0];
  const want = expected.gradient;
  let diff = 0, norm = 0;
  for (let i = 0; i < want.length; i++) {
    diff += (got[i] - want[i]) ** 2;
    norm += want[i] ** 2;
  }
  const times: number[] = [];
  for (let i = 0; i < evaluations; i++) {
    const t = performance.now();
    const out = await session.run(tensors);
    await out.gradient.getData();
    times.push(performance.now() - t);
  }
  session.endProfiling(); // prints the trace on stdout
  await session.release();
  await objective.release();
  const result: ChildResult = {
    layout,
    times,
    gradientRelativeL2: Math.sqrt(diff / norm),
    totalRelativeError: Math.abs(total - expected.total) / Math.abs(expected.total),
    adapter: adapter.description,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

/** The trace's events, from the lines between a "[" line and a "]" line. */
export function traceEvents(lines: readonly string[]): TraceEvent[] {
  const start = lines.findIndex((l) => l.trim() === "[");
  const end = lines.findIndex((l, i) => i > start && l.trim() === "]");
  if (start < 0 || end < 0) return [];
  return JSON.parse(lines.slice(start, end + 1).join("\n"));
}

async function parent(): Promise<void> {
  for (const layout of values.layouts.split(",").map((s) => s.trim().toUpperCase())) {
    const run = await runChild(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}bench/webgpu_profile.ts`,
      `--child=${layout}`,
      `--network=${values.network}`,
      `--size=${size}`,
      `--evaluations=${evaluations}`,
    ], { timeoutMs: 600_000 });
    const texts = run.lines.map((l) => l.text);
    const resultLine = texts.find((t) => t.startsWith("RESULT "));
    if (run.code !== 0 || !resultLine) {
      console.log(`${layout}: failed: ${run.stderr.split("\n").slice(-3).join(" / ")}`);
      continue;
    }
    const result: ChildResult = JSON.parse(resultLine.slice("RESULT ".length));
    const events = traceEvents(texts);
    // The profile covers the warm-up too; spread GPU time over every run.
    const runs = evaluations + 1;
    const gpu = events.filter((e) => e.cat === "Api");
    const byOp = new Map<string, number>();
    const byProgram = new Map<string, number>();
    for (const e of gpu) {
      // Names look like "node name&OpType&Program".
      const [, op = "?", program = "?"] = e.name.split("&");
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
      byProgram.set(`${op} ${program}`, (byProgram.get(`${op} ${program}`) ?? 0) + e.dur);
    }
    const gpuMs = gpu.reduce((s, e) => s + e.dur, 0) / 1000 / runs;
    console.log(
      `\n${values.network} ${size}², ${layout} on ${result.adapter}: ` +
        `${fixed(median(result.times), 1)} ms per evaluation (median of ${evaluations}), ` +
        `GPU kernels ${fixed(gpuMs, 1)} ms per run, ${gpu.length / runs} dispatches per run, ` +
        `vs native: total ${result.totalRelativeError.toExponential(1)}, ` +
        `gradient ${result.gradientRelativeL2.toExponential(1)} (relative L2)`,
    );
    const top = (m: Map<string, number>) =>
      [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)).map((
        [k, us],
      ) => [k, fixed(us / 1000 / runs, 2), `${fixed((100 * us) / 1000 / runs / gpuMs, 1)}%`]);
    printTable(["op", "GPU ms/run", "share"], top(byOp));
    printTable(["op and program", "GPU ms/run", "share"], top(byProgram));
  }
}
