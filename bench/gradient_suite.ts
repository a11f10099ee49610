/**
 * Gradient-speed suite: the VGG-19 style objective (forward + backward) per
 * backend and thread count. Each configuration runs in its own process (see
 * `gradient_speed.ts`); the table reports medians, and every row is compared
 * with the reference row measured in the same run (native, all threads).
 *
 * @module
 */

import { findWebGpuAdapter } from "../core/runtime/webgpu_adapter.ts";

/** One configuration's timing, as `gradient_speed.ts` prints it. */
export interface GradientRow {
  /** Backend that ran. */
  backend: string;
  /** Device description. */
  device: string;
  /** CPU threads. */
  threads: number;
  /** Image side in pixels. */
  size: number;
  /** Median milliseconds per evaluation. */
  medianMs: number;
  /** Fastest evaluation. */
  minMs: number;
  /** Convolution GFLOP/s at the median. */
  gflops: number;
  /** Convolution GFLOP per evaluation. */
  gflop: number;
  /** Session creation milliseconds. */
  sessionMs: number;
}

/** What the suite measured, and which backend it left out and why ("" if none). */
export interface GradientSuiteResult {
  /** Why a backend was left out, or "". */
  skipped: string;
  /** One row per configuration that ran. */
  rows: GradientRow[];
}

async function measure(
  backend: string,
  threads: number,
  options: { size: number; iterations: string },
): Promise<GradientRow | string> {
  const iterations = options.iterations || (options.size <= 256 ? "5" : "3");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./gradient_speed.ts", import.meta.url).pathname,
      `--backend=${backend}`,
      `--threads=${threads}`,
      `--size=${options.size}`,
      `--iterations=${iterations}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (!out.success) {
    return new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "failed";
  }
  return JSON.parse(text) as GradientRow;
}

/**
 * Runs every configuration at each size, printing the table as rows come.
 * `iterations` overrides the timed evaluations per configuration ("" = 5 at
 * 256 px and below, else 3).
 */
export async function gradientSuite(
  sizes: readonly number[],
  options: { iterations?: string } = {},
): Promise<GradientSuiteResult> {
  const cores = navigator.hardwareConcurrency;
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
  if (skipped) console.log(skipped);
  console.log();
  const header = "size  backend  threads   median ms      min ms   GFLOP/s   × native";
  console.log(header);
  console.log("-".repeat(header.length));
  const rows: GradientRow[] = [];
  for (const size of sizes) {
    let reference: GradientRow | undefined;
    for (const [backend, threads] of configs) {
      const r = await measure(backend, threads, { size, iterations: options.iterations ?? "" });
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
  return { skipped, rows };
}
