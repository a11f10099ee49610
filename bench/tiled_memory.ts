/**
 * Tiled against untiled: the peak resident memory and the seconds per
 * iteration of a whole CLI run (native, InceptionV3, default costs, one
 * scale, square images) at growing sizes, untiled where the whole image
 * fits this machine, tiled under a memory budget, with the tile plan's halo
 * overhead (pixels computed over pixels of the image).
 *
 * @module
 */

import { resizeImage } from "../core/image.ts";
import { readImage, writeImage } from "../io.ts";
import { loadNetwork } from "../core/network/registry.ts";
import { planTiles } from "../core/tiling/plan.ts";
import { memoryPlan } from "../core/tiling/memory_plan.ts";
import { parseBytes } from "../core/tiling/budget.ts";
import { CACHE_DIR } from "./reference/export_network.ts";
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

/** One run. */
export interface TiledRow {
  /** Square side. */
  size: number;
  /** `untiled` or the budget (`2GB`). */
  budget: string;
  /** Windows per evaluation (1: untiled). */
  windows: number;
  /** Pixels computed over pixels of the image. */
  overhead: number;
  /** Peak RSS, MB. */
  peakMb: number;
  /** Median seconds per iteration. */
  secondsPerIteration: number;
  /** Seconds per iteration per megapixel. */
  secondsPerMegapixel: number;
}

/** The sizes, budgets and iterations of the suite. */
export interface TiledMemoryOptions {
  /** Square sides and their budgets (`untiled` for none). */
  runs?: readonly { size: number; budget: string; iterations: number }[];
}

/** The default plan: untiled where it fits 24 GB, 2 GB tiles, and 8192² in 8 GB. */
export const DEFAULT_TILED_RUNS = [
  { size: 1024, budget: "untiled", iterations: 3 },
  { size: 1024, budget: "2GB", iterations: 3 },
  { size: 2048, budget: "untiled", iterations: 3 },
  { size: 2048, budget: "2GB", iterations: 3 },
  { size: 4096, budget: "4GB", iterations: 2 },
  { size: 8192, budget: "8GB", iterations: 1 },
] as const;

function secondsPerIteration(run: ChildRun): number {
  const ms = jsonLines(run).filter((e) => e.event.event === "iteration").map((e) =>
    e.event.msPerIteration as number
  );
  return median(ms) / 1000;
}

/** Runs the tiled part of the memory suite, printing its table. */
export async function tiledMemorySuite(
  options: TiledMemoryOptions = {},
): Promise<{ rows: TiledRow[]; failed: string[] }> {
  const runs = options.runs ?? DEFAULT_TILED_RUNS;
  const dir = `${CACHE_DIR}memory`;
  await Deno.mkdir(dir, { recursive: true });
  const net = await loadNetwork("inception");
  const layers = [...net.description.defaults.style, ...net.description.defaults.content].map((l) =>
    l.layer
  );
  const style = `${ROOT}examples/kandinsky.jpg`;
  const rows: TiledRow[] = [];
  const failed: string[] = [];
  console.log(
    "Tiled evaluation: one scale of the default costs on InceptionV3, native, square images; " +
      "peak RSS by GNU time.",
  );
  for (const { size, budget, iterations } of runs) {
    const square = `${dir}/astronaut_square_${size}.png`;
    if (!(await Deno.stat(square).then(() => true, () => false))) {
      const source = await readImage(`${ROOT}examples/astronaut.jpg`);
      await writeImage(resizeImage(source, { width: size, height: size }), square);
    }
    const bytes = budget === "untiled" ? undefined : parseBytes(budget)!;
    const plan = bytes === undefined ? undefined : memoryPlan(net.description, layers, {
      size: { width: size, height: size },
      settings: { optimizer: "lbfgs", history: 10, average: 0, maxMemory: budget },
      bytes,
      referenceLayers: net.description.defaults.content.map((l) => l.layer),
    });
    const tiles = plan?.tiles &&
      planTiles(net.description, layers, { width: size, height: size }, {
        ...plan.tiles,
        padding: net.description.inputPadding ?? 0,
      });
    const run = await runChild(Deno.execPath(), [
      "run",
      "-A",
      "cli.ts",
      square,
      style,
      "--size",
      String(size),
      "--scales",
      "1",
      "--iterations",
      String(iterations),
      "--backend",
      "native",
      "--max-memory",
      bytes === undefined ? "1TB" : budget,
      "--json",
      "-o",
      `${dir}/out_tiled_${size}_${budget}.png`,
    ], { peakRss: true, timeoutMs: 90 * 60_000 });
    if (run.code !== 0 || run.peakRssMb === undefined) {
      failed.push(`${size}² ${budget}: ${run.code !== 0 ? failure(run) : "no RSS measured"}`);
      continue;
    }
    const s = secondsPerIteration(run);
    rows.push({
      size,
      budget,
      windows: tiles?.windows.length ?? 1,
      overhead: tiles?.overhead ?? 1,
      peakMb: run.peakRssMb,
      secondsPerIteration: s,
      secondsPerMegapixel: s / (size * size / 1e6),
    });
  }
  printTable(
    ["size", "budget", "windows", "halo overhead", "peak RSS MB", "s/it", "s/it per MP"],
    rows.map((r) => [
      `${r.size}²`,
      r.budget,
      String(r.windows),
      `+${fixed((r.overhead - 1) * 100, 0)} %`,
      fixed(r.peakMb, 0),
      fixed(r.secondsPerIteration, 1),
      fixed(r.secondsPerMegapixel, 2),
    ]),
  );
  for (const f of failed) console.log(`failed: ${f}`);
  return { rows, failed };
}

if (import.meta.main) await tiledMemorySuite();
