/**
 * Memory suite: the peak resident memory (RSS) of a whole stylisation
 * process — stylegram's CLI on native and wasm, and the PyTorch reference —
 * at growing square sizes, and how it grows.
 *
 * Each run is one scale of the default costs on InceptionV3 with enough
 * L-BFGS iterations to fill the optimiser's history (10 pairs), so the peak
 * includes the network, the compiled graph or autograd tape, the
 * activations of forward + backward, and the optimiser's vectors. The peak is
 * the process's maximum RSS as GNU time reports it (`/usr/bin/time -f %M`),
 * or VmHWM polled from /proc where that is missing.
 *
 * @module
 */

import { resizeImage } from "../core/image.ts";
import { readImage, writeImage } from "../io.ts";
import { CACHE_DIR, exportNetwork } from "./reference/export_network.ts";
import { writeInputs } from "./reference/inputs.ts";
import { referenceCommand, referenceEnv } from "./reference/python.ts";
import {
  type ChildRun,
  failure,
  fixed,
  jsonLines,
  median,
  printTable,
  ROOT,
  runChild,
} from "./measure.ts";

/** One run's memory. */
export interface MemoryRow {
  /** Square side. */
  size: number;
  /** native, wasm or pytorch. */
  engine: string;
  /** Peak RSS in MB. */
  peakMb: number;
  /** Median ms per iteration (iterations after the second). */
  msPerIteration: number;
  /** Whole-process wall seconds. */
  wallSeconds: number;
}

/** Growth of the peak with the pixel count, per engine. */
export interface MemoryGrowth {
  /** Engine. */
  engine: string;
  /** Extra MB per megapixel between the two largest sizes. */
  mbPerMegapixel: number;
  /** The peak at the largest size over the peak at the smallest. */
  ratio: number;
}

/** What the suite measured. */
export interface MemorySuiteResult {
  /** L-BFGS iterations per run. */
  iterations: number;
  /** Runs. */
  rows: MemoryRow[];
  /** Growth per engine. */
  growth: MemoryGrowth[];
  /** How the peak was measured. */
  method: string;
  /** Failures. */
  failed: string[];
}

/** Options of {@linkcode memorySuite}. */
export interface MemorySuiteOptions {
  /** Square sides (default 256, 512, 1024). */
  sizes?: readonly number[];
  /** Iterations per run (default 11: the L-BFGS history of 10 pairs fills up). */
  iterations?: number;
}

const ENGINES = ["native", "wasm", "pytorch"] as const;

/**
 * A run is killed after this long. The slowest expected run (wasm, 1024², 11
 * iterations) takes about 70 s here; the wasm backend in Deno has been seen to
 * hang at start-up now and then (main thread spinning, no wasm threads).
 */
const RUN_TIMEOUT_MS = 6 * 60_000;

function msPerIteration(run: ChildRun): number {
  const ms = jsonLines(run).filter((e) => e.event.event === "iteration").map((e) =>
    e.event.msPerIteration as number
  );
  return median(ms.length > 2 ? ms.slice(2) : ms);
}

/** Runs the suite, printing its table; returns the rows. */
export async function memorySuite(options: MemorySuiteOptions = {}): Promise<MemorySuiteResult> {
  const sizes = options.sizes ?? [256, 512, 1024];
  const iterations = options.iterations ?? 11;
  const { env } = await referenceEnv();
  const exported = await exportNetwork("inception");
  const minSize = JSON.parse(await Deno.readTextFile(`${exported.prefix}.json`)).minSize;
  const dir = `${CACHE_DIR}memory`;
  await Deno.mkdir(dir, { recursive: true });
  // A square content image, so --size N gives N × N on both sides.
  const largest = Math.max(...sizes);
  const square = `${dir}/cat_square_${largest}.png`;
  await writeImage(
    resizeImage(await readImage(`${ROOT}examples/cat.jpg`), { width: largest, height: largest }),
    square,
  );
  const style = `${ROOT}examples/kandinsky.jpg`;
  const hasTime = await Deno.stat("/usr/bin/time").then(() => true, () => false);
  const method = hasTime ? "GNU time's maximum RSS" : "VmHWM polled from /proc every 50 ms";

  console.log(
    `Peak memory (RSS) of a whole process: one scale, ${iterations} L-BFGS iterations, InceptionV3,`,
  );
  console.log(
    "default costs, square images; stylegram's CLI (all threads) and the PyTorch reference",
  );
  console.log(`(all threads). Measured with ${method}; engines alternate in order per size.`);
  console.log();

  const rows: MemoryRow[] = [];
  const failed: string[] = [];
  for (const [k, size] of sizes.entries()) {
    const recipeJson = { network: "inception", size, scales: 1, iterations };
    const recipe = `${dir}/recipe_${size}.json`;
    await Deno.writeTextFile(recipe, JSON.stringify(recipeJson));
    const bundle = `${dir}/bundle_${size}.safetensors`;
    await writeInputs(bundle, { content: square, styles: [style] }, recipeJson, {
      networkMinSize: minSize,
    });
    const order = k % 2 ? [...ENGINES].reverse() : ENGINES;
    for (const engine of order) {
      let run: ChildRun;
      if (engine === "pytorch") {
        const { cmd, args } = referenceCommand({
          network: exported.prefix,
          inputs: bundle,
          recipe,
          threads: navigator.hardwareConcurrency,
          extra: ["--json", "-o", `${dir}/out_reference_${size}.png`],
        });
        run = await runChild(cmd, args, { env, peakRss: true, timeoutMs: RUN_TIMEOUT_MS });
      } else {
        run = await runChild(Deno.execPath(), [
          "run",
          "-A",
          "cli.ts",
          square,
          style,
          "--recipe",
          recipe,
          "--backend",
          engine,
          "--json",
          "-o",
          `${dir}/out_${engine}_${size}.png`,
        ], { peakRss: true, timeoutMs: RUN_TIMEOUT_MS });
      }
      if (run.code !== 0 || run.peakRssMb === undefined) {
        failed.push(`${size}² ${engine}: ${run.code !== 0 ? failure(run) : "no RSS measured"}`);
        continue;
      }
      rows.push({
        size,
        engine,
        peakMb: run.peakRssMb,
        msPerIteration: msPerIteration(run),
        wallSeconds: run.wallMs / 1000,
      });
    }
  }
  const torchAt = (size: number) =>
    rows.find((r) => r.engine === "pytorch" && r.size === size)?.peakMb;
  printTable(
    ["size", "engine", "peak RSS MB", "× PyTorch", "ms/it", "wall s"],
    rows.map((r) => {
      const t = torchAt(r.size);
      return [
        `${r.size}²`,
        r.engine,
        fixed(r.peakMb, 0),
        t ? `${fixed(r.peakMb / t, 2)}×` : "–",
        fixed(r.msPerIteration, 0),
        fixed(r.wallSeconds, 1),
      ];
    }),
  );
  const growth: MemoryGrowth[] = [];
  for (const engine of ENGINES) {
    const mine = rows.filter((r) => r.engine === engine).sort((a, b) => a.size - b.size);
    if (mine.length < 2) continue;
    const [a, b] = mine.slice(-2);
    const first = mine[0];
    growth.push({
      engine,
      mbPerMegapixel: (b.peakMb - a.peakMb) / ((b.size ** 2 - a.size ** 2) / 1e6),
      ratio: b.peakMb / first.peakMb,
    });
  }
  if (growth.length) {
    console.log(
      "growth (between the two largest sizes): " +
        growth.map((g) =>
          `${g.engine} +${fixed(g.mbPerMegapixel, 0)} MB per megapixel (×${
            fixed(g.ratio, 1)
          } from ` +
          `${sizes[0]}² to ${largest}²)`
        ).join("; "),
    );
  }
  for (const f of failed) console.log(`failed: ${f}`);
  return { iterations, rows, growth, method, failed };
}
