/**
 * Times one configuration of the VGG-19 style objective (forward + backward)
 * and prints one JSON line. Run by `bench/run.ts` in a fresh process per
 * configuration, because the wasm runtime fixes its thread count once.
 *
 *     deno run -A bench/gradient_speed.ts --backend wasm --threads 2 --size 256
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type BackendChoice, createSession } from "../mod.ts";
import { uniform } from "../core/random.ts";
import { vggObjective } from "./vgg_objective.ts";

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "wasm" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency) },
    size: { type: "string", default: "256" },
    iterations: { type: "string", default: "5" },
    pooling: { type: "string", default: "max" },
  },
});
const size = Number(values.size);
const threads = Number(values.threads);
const iterations = Number(values.iterations);

const t0 = performance.now();
const objective = vggObjective(size, { pooling: values.pooling as "max" | "avg" });
const buildMs = performance.now() - t0;
const t1 = performance.now();
const session = await createSession(objective.graph, {
  backend: values.backend as BackendChoice,
  threads,
});
const sessionMs = performance.now() - t1;
const image = uniform(3 * size * size, 7, { lo: 0, hi: 1 });
await session.run({ image }); // warm-up: allocations, first-run kernel selection
const times: number[] = [];
for (let i = 0; i < iterations; i++) {
  const t = performance.now();
  await session.run({ image });
  times.push(performance.now() - t);
}
await session.release();
times.sort((a, b) => a - b);
const median = times[times.length >> 1];
// Forward convolutions plus the input-gradient convolutions of the backward.
const gflop = (2 * objective.forwardFlops) / 1e9;
console.log(JSON.stringify({
  backend: session.backend,
  device: session.device,
  threads,
  size,
  pooling: values.pooling,
  iterations,
  medianMs: median,
  minMs: times[0],
  maxMs: times[times.length - 1],
  gflop,
  gflops: gflop / (median / 1000),
  buildMs,
  sessionMs,
}));
