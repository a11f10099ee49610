/**
 * Iteration suite: milliseconds per evaluation of the full objective
 * (forward + backward of content + style + tv with the default recipe's
 * weights and layers) for every engine, side by side with the PyTorch
 * reference on the same pixels — VGG-19 with seeded random weights and
 * InceptionV3, at each size (square images).
 *
 * Each configuration runs in its own process (`objective_speed.ts`, or the
 * reference's `--bench-eval`), in rounds whose order alternates, so load from
 * other users of the machine spreads over all configurations; the table
 * reports the median over every timed evaluation of every round. The first
 * round also checks that the two objectives agree: stylegram (native) dumps
 * its cost and gradient at the starting image and the reference compares.
 *
 * @module
 */

import type { RgbImage } from "../mod.ts";
import { resizeImage } from "../core/image.ts";
import { findWebGpuAdapter } from "../core/runtime/webgpu_adapter.ts";
import { readImage } from "../io.ts";
import { CACHE_DIR, exportNetwork } from "./reference/export_network.ts";
import { encodeInputs, referenceInputs } from "./reference/inputs.ts";
import { referenceCommand, referenceEnv } from "./reference/python.ts";
import { failure, fixed, median, printTable, ROOT, runChild } from "./measure.ts";

/** One engine configuration's timings at one network and size. */
export interface IterationRow {
  /** `random` (VGG-19 layout, random weights) or `inception`. */
  network: string;
  /** Image side (square). */
  size: number;
  /** wasm, native, webgpu or pytorch. */
  engine: string;
  /** CPU threads. */
  threads: number;
  /** Median milliseconds per evaluation over all rounds. */
  medianMs: number;
  /** Fastest evaluation. */
  minMs: number;
  /** Timed evaluations behind the median. */
  samples: number;
  /** medianMs / PyTorch's medianMs with the same thread count (all threads for webgpu). */
  vsPytorch?: number;
  /** Device description. */
  device: string;
}

/** The objectives' agreement at the same pixels (stylegram native vs the reference). */
export interface Agreement {
  /** Network. */
  network: string;
  /** Image side. */
  size: number;
  /** |total_stylegram − total_reference| / total_reference. */
  totalRelative: number;
  /** ‖g_stylegram − g_reference‖ / ‖g_stylegram‖. */
  gradientRelativeL2: number;
}

/** What the suite measured. */
export interface IterationSuiteResult {
  /** Why WebGPU was left out, or "". */
  skipped: string;
  /** Which BLAS PyTorch used. */
  blas: string;
  /** Every configuration. */
  rows: IterationRow[];
  /** Agreement checks. */
  agreement: Agreement[];
}

/** Options of {@linkcode iterationSuite}. */
export interface IterationSuiteOptions {
  /** Image sides (default 256, 512). */
  sizes?: readonly number[];
  /** Networks (default random, inception). */
  networks?: readonly string[];
  /** Rounds over all configurations (default 2). */
  rounds?: number;
  /** Timed evaluations per process (default 3 at ≤ 256 px, else 2; one warm-up more). */
  evaluations?: number;
}

const TITLES: Record<string, string> = {
  random: "VGG-19 (seeded random weights; style relu1_1…relu5_1, content relu4_2)",
  inception: "InceptionV3 (nsfwjs weights; style activation_1/3/5, mixed0, mixed2; content mixed1)",
};

/** The files one configuration runs on: the exported network, the input bundle, the recipe. */
export interface SpeedFiles {
  /** Exported network path prefix. */
  prefix: string;
  /** Input bundle. */
  bundle: string;
  /** Recipe JSON file. */
  recipe: string;
}

/** Writes the square-image bundle for one network and size; returns its files. */
export async function prepareSquare(
  network: string,
  size: number,
  images: { content: RgbImage; style: RgbImage },
): Promise<SpeedFiles> {
  const exported = await exportNetwork(network, { seed: 0 });
  const minSize = JSON.parse(await Deno.readTextFile(`${exported.prefix}.json`)).minSize;
  const recipeJson = { network, size, scales: 1, iterations: 1, seed: 0 };
  // Square: the content image stretched to size × size, as the table's 256² / 512² promise.
  const content = resizeImage(images.content, { width: size, height: size });
  const inputs = referenceInputs(recipeJson, { content, styles: [images.style] }, {
    networkMinSize: minSize,
  });
  const dir = `${CACHE_DIR}iteration`;
  await Deno.mkdir(dir, { recursive: true });
  const bundle = `${dir}/${network}_${size}.safetensors`;
  const recipe = `${dir}/${network}_${size}.json`;
  await Deno.writeFile(bundle, encodeInputs(inputs));
  await Deno.writeTextFile(recipe, JSON.stringify(recipeJson));
  return { prefix: exported.prefix, bundle, recipe };
}

/** One process's timings. */
export interface Sample {
  /** Milliseconds of each timed evaluation. */
  times: number[];
  /** Device description. */
  device: string;
  /** The total at the starting image. */
  total?: number;
  /** The reference's comparison with a stylegram dump. */
  compare?: { theirTotal: number; gradientRelativeL2: number };
}

/** An engine and thread count. */
export interface Config {
  /** wasm, native, webgpu or pytorch. */
  engine: string;
  /** CPU threads. */
  threads: number;
  /** Torch device for pytorch (default cpu). */
  device?: string;
}

/** Runs one configuration in a fresh process; a string says why it failed. */
export async function measureConfig(
  config: Config,
  files: SpeedFiles,
  options: { network: string; evaluations: number; dump?: string; compare?: string },
): Promise<Sample | string> {
  let run;
  if (config.engine === "pytorch") {
    const { env } = await referenceEnv();
    const extra = ["--bench-eval", String(options.evaluations), "--device", config.device ?? "cpu"];
    if (options.compare) extra.push("--compare", options.compare);
    const { cmd, args } = referenceCommand({
      network: files.prefix,
      inputs: files.bundle,
      recipe: files.recipe,
      threads: config.threads,
      extra,
    });
    run = await runChild(cmd, args, { env, timeoutMs: 600_000 });
  } else {
    run = await runChild(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}bench/objective_speed.ts`,
      `--network=${options.network}`,
      `--inputs=${files.bundle}`,
      `--backend=${config.engine}`,
      `--threads=${config.threads}`,
      `--iterations=${options.evaluations}`,
      ...(options.dump ? [`--dump=${options.dump}`] : []),
    ], { timeoutMs: 600_000 });
  }
  if (run.code !== 0) return failure(run);
  const result = JSON.parse(run.lines.at(-1)!.text);
  return {
    times: result.times,
    device: result.device,
    total: result.total,
    compare: result.compare,
  };
}

/** Runs the suite, printing one table per network; returns every row. */
export async function iterationSuite(
  options: IterationSuiteOptions = {},
): Promise<IterationSuiteResult> {
  const sizes = options.sizes ?? [256, 512];
  const networks = options.networks ?? ["random", "inception"];
  const rounds = options.rounds ?? 2;
  const cores = navigator.hardwareConcurrency;
  const adapter = await findWebGpuAdapter();
  const skipped = adapter?.software
    ? `webgpu skipped: the only adapter here is software (${adapter.description})`
    : adapter
    ? ""
    : "webgpu skipped: no WebGPU adapter here";
  const threadCounts = [...new Set([1, cores])];
  const configs: Config[] = [
    ...threadCounts.map((threads) => ({ engine: "wasm", threads })),
    ...threadCounts.map((threads) => ({ engine: "native", threads })),
    ...(adapter && !adapter.software ? [{ engine: "webgpu", threads: 1 }] : []),
    ...threadCounts.map((threads) => ({ engine: "pytorch", threads })),
  ];
  const { blas } = await referenceEnv();
  const images = {
    content: await readImage(`${ROOT}examples/cat.jpg`),
    style: await readImage(`${ROOT}examples/kandinsky.jpg`),
  };

  console.log("ms per iteration: one evaluation of the full default objective, forward + backward");
  console.log(
    "(content 1 + style 40 + tv 1 on the network's default layers; examples/cat.jpg stretched to",
  );
  console.log(
    `a square, examples/kandinsky.jpg as style). Median over ${rounds} interleaved round(s) of one`,
  );
  console.log(
    "process per configuration; × PyTorch compares with PyTorch at the same thread count (webgpu:",
  );
  console.log(`all threads). PyTorch ${blas}.`);
  if (skipped) console.log(skipped);

  const rows: IterationRow[] = [];
  const agreement: Agreement[] = [];
  for (const network of networks) {
    console.log(`\n${TITLES[network] ?? network}`);
    const tableRows: string[][] = [];
    for (const size of sizes) {
      const files = await prepareSquare(network, size, images);
      const evaluations = options.evaluations ?? (size <= 256 ? 3 : 2);
      const samples = new Map<Config, Sample[]>(configs.map((c) => [c, []]));
      const failed = new Map<Config, string>();
      const dump = `${CACHE_DIR}iteration/${network}_${size}_gradient.safetensors`;
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 ? [...configs].reverse() : configs;
        for (const config of order) {
          if (failed.has(config)) continue;
          // Round 0 runs native before PyTorch: native dumps, PyTorch compares.
          const all = config.threads === cores;
          const s = await measureConfig(config, files, {
            network,
            evaluations,
            dump: r === 0 && config.engine === "native" && all ? dump : undefined,
            compare: r === 0 && config.engine === "pytorch" && all ? dump : undefined,
          });
          if (typeof s === "string") failed.set(config, s);
          else samples.get(config)!.push(s);
        }
      }
      const torchMs = new Map<number, number>();
      for (const config of configs.filter((c) => c.engine === "pytorch")) {
        const ss = samples.get(config)!;
        if (ss.length) torchMs.set(config.threads, median(ss.flatMap((s) => s.times)));
      }
      for (const config of configs) {
        const ss = samples.get(config)!;
        if (!ss.length) {
          tableRows.push([
            String(size),
            config.engine,
            String(config.threads),
            `failed: ${failed.get(config)}`,
          ]);
          continue;
        }
        const times = ss.flatMap((s) => s.times);
        const medianMs = median(times);
        const torch = torchMs.get(config.engine === "webgpu" ? cores : config.threads);
        const row: IterationRow = {
          network,
          size,
          engine: config.engine,
          threads: config.threads,
          medianMs,
          minMs: Math.min(...times),
          samples: times.length,
          vsPytorch: torch ? medianMs / torch : undefined,
          device: ss[0].device,
        };
        rows.push(row);
        tableRows.push([
          `${size}²`,
          config.engine,
          String(config.threads),
          fixed(medianMs, 0),
          fixed(row.minMs, 0),
          String(row.samples),
          row.vsPytorch === undefined ? "–" : `${fixed(row.vsPytorch, 2)}×`,
        ]);
        const compare = ss[0].compare;
        if (compare) {
          agreement.push({
            network,
            size,
            totalRelative: Math.abs(compare.theirTotal - ss[0].total!) / Math.abs(ss[0].total!),
            gradientRelativeL2: compare.gradientRelativeL2,
          });
        }
      }
    }
    printTable(
      ["size", "engine", "threads", "median ms", "min ms", "n", "× PyTorch"],
      tableRows,
    );
    for (const a of agreement.filter((a) => a.network === network)) {
      console.log(
        `same objective at ${a.size}²: stylegram native vs PyTorch, total differs by ` +
          `${a.totalRelative.toExponential(1)} (relative), gradient by ` +
          `${a.gradientRelativeL2.toExponential(1)} (relative L2)`,
      );
    }
  }
  return { skipped, blas, rows, agreement };
}
