/**
 * `deno task bench`: the benchmark suite. Each configuration runs in its own
 * process (see `gradient_speed.ts`); the table reports medians, and every row
 * is compared with the reference row measured in the same run (native, all
 * threads). Results are also written to `bench/results/` as JSON.
 *
 *     deno task bench               # 256² and 512²
 *     deno task bench --sizes 256   # quicker
 *
 * @module
 */

import { parseArgs } from "node:util";
import { findWebGpuAdapter } from "../mod.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "256,512" },
    iterations: { type: "string", default: "" },
  },
});
const sizes = values.sizes.split(",").map(Number);
const cores = navigator.hardwareConcurrency;

interface Row {
  backend: string;
  device: string;
  threads: number;
  size: number;
  medianMs: number;
  minMs: number;
  gflops: number;
  gflop: number;
  sessionMs: number;
}

async function measure(backend: string, threads: number, size: number): Promise<Row | string> {
  const iterations = values.iterations || (size <= 256 ? "5" : "3");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./gradient_speed.ts", import.meta.url).pathname,
      `--backend=${backend}`,
      `--threads=${threads}`,
      `--size=${size}`,
      `--iterations=${iterations}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (!out.success) {
    return new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "failed";
  }
  return JSON.parse(text) as Row;
}

const adapter = await findWebGpuAdapter();
const configs: [string, number][] = [["native", cores], ["native", 1], ["wasm", cores], [
  "wasm",
  1,
]];
if (adapter && !adapter.software) configs.push(["webgpu", 1]);
const skipped = adapter?.software
  ? `webgpu skipped: the adapter here is software (${adapter.description})`
  : adapter
  ? ""
  : "webgpu skipped: no WebGPU adapter here";

console.log(`VGG-19 conv1_1…conv5_1 style objective, forward + backward (random weights)`);
console.log(
  `machine: ${cores} cores, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}`,
);
if (skipped) console.log(skipped);
console.log();
const header = "size  backend  threads   median ms      min ms   GFLOP/s   × native";
console.log(header);
console.log("-".repeat(header.length));
const rows: Row[] = [];
for (const size of sizes) {
  let reference: Row | undefined;
  for (const [backend, threads] of configs) {
    const r = await measure(backend, threads, size);
    if (typeof r === "string") {
      console.log(
        `${String(size).padEnd(6)}${backend.padEnd(9)}${
          String(threads).padStart(7)
        }   failed: ${r}`,
      );
      continue;
    }
    reference ??= r;
    rows.push(r);
    console.log(
      `${String(size).padEnd(6)}${r.backend.padEnd(9)}${String(threads).padStart(7)}` +
        `${r.medianMs.toFixed(0).padStart(12)}${r.minMs.toFixed(0).padStart(12)}` +
        `${r.gflops.toFixed(1).padStart(10)}${
          (r.medianMs / reference.medianMs).toFixed(2).padStart(11)
        }`,
    );
  }
}
console.log(
  `\nGFLOP per iteration: ${
    rows.map((r) => `${r.size}²: ${r.gflop.toFixed(1)}`).filter((v, i, a) => a.indexOf(v) === i)
      .join(", ")
  }`,
);
const dir = new URL("./results/", import.meta.url);
await Deno.mkdir(dir, { recursive: true });
const file = new URL(`gradient_speed_${new Date().toISOString().replace(/[:.]/g, "-")}.json`, dir);
await Deno.writeTextFile(
  file,
  JSON.stringify({ date: new Date().toISOString(), cores, skipped, rows }, null, 2),
);
console.log(`results: ${file.pathname}`);
