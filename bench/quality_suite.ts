/**
 * Quality suite: time to quality against the PyTorch reference, with both
 * outputs scored by one judge and shown side by side.
 *
 * For each content × style pair, both tools run the default recipe (network
 * InceptionV3, 2 scales 256 → 384 px, 150 L-BFGS iterations per scale, start
 * from the content with 70% seeded noise) on the same pixels, each in a fresh
 * process with all cores:
 *
 * 1. The reference runs to the end, in two variants of PyTorch's L-BFGS
 *    (which has no bounds): `clamp` clamps the pixels to [0, 1] after every
 *    iteration (PyTorch style-transfer practice; about 2 evaluations per
 *    iteration) and `free` leaves them unbounded within a scale (1 evaluation
 *    per iteration, but the final iterate lies partly outside [0, 1]). The
 *    target cost T is the cost of the image it delivers — its final iterate
 *    clamped to [0, 1], at the final scale — and its time is the wall time
 *    from spawning the process to its last iteration's progress line.
 * 2. stylegram (`cli.ts --json`, backend auto; its iterates never leave
 *    [0, 1]) runs to the end once; its time for a target is the wall time
 *    from spawning to the first final-scale iteration line whose total is
 *    ≤ T ("not reached" if none).
 * 3. The judge — the reference's `--score` — recomputes the final-scale
 *    objective on the written PNGs (8-bit, as users get them), so a speed
 *    win bought with a worse picture shows.
 *
 * The runs of a pair rotate in order from pair to pair. A grid PNG (content |
 * style | stylegram | reference clamp | reference free, one row per pair) is
 * written to bench/results/.
 *
 * @module
 */

import { type RgbImage, rgbImage } from "../mod.ts";
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
  printTable,
  RESULTS_DIR,
  ROOT,
  runChild,
  stamp,
} from "./measure.ts";

/** The content × style pairs (examples/). */
export const PAIRS: readonly [string, string][] = [
  ["cat", "kandinsky"],
  ["astronaut", "van_gogh"],
  ["astronaut", "great_wave"],
];

/** A run is killed after this long (the slowest, PyTorch with clamping, takes ~2 minutes here). */
const RUN_TIMEOUT_MS = 8 * 60_000;

/** The reference's two ways of keeping pixels in range (see the module notes). */
export const VARIANTS = { clamp: "clamp", free: "none" } as const;

/** One pair against one reference variant. */
export interface QualityRow {
  /** `content × style`. */
  pair: string;
  /** Reference variant: `clamp` or `free`. */
  variant: string;
  /** Output size. */
  output: string;
  /** The cost of the reference's delivered image (final iterate clamped to [0, 1]): the target. */
  target: number;
  /** The reference's own last reported total (its iterate, possibly outside [0, 1]). */
  referenceLastTotal: number;
  /** Reference seconds from spawn to its last final-scale iteration. */
  referenceSeconds: number;
  /** stylegram seconds from spawn to its first final-scale total ≤ target (undefined: never). */
  stylegramSeconds?: number;
  /** stylegramSeconds / referenceSeconds. */
  ratio?: number;
  /** The final-scale iteration at which stylegram reached the target. */
  stylegramIteration?: number;
  /** stylegram's own final total. */
  stylegramFinal: number;
  /** Whole-process wall seconds of each tool. */
  wallSeconds: { stylegram: number; reference: number };
  /** Evaluations (all scales) of each tool. */
  evaluations: { stylegram: number; reference: number };
  /** The judge's totals of the two PNGs. */
  judged: { stylegram: number; reference: number };
  /** The judge's terms of the two PNGs. */
  judgedTerms: { stylegram: Record<string, number>; reference: Record<string, number> };
}

/** What the suite measured. */
export interface QualitySuiteResult {
  /** Size (longer side). */
  size: number;
  /** Rows. */
  rows: QualityRow[];
  /** The grid image's path. */
  grid?: string;
  /** Pairs that failed, with why. */
  failed: string[];
}

/** Options of {@linkcode qualitySuite}. */
export interface QualitySuiteOptions {
  /** Longer side of the output (default 384). */
  size?: number;
  /** Pairs (default {@linkcode PAIRS}). */
  pairs?: readonly [string, string][];
}

interface Trace {
  finalScale: number;
  iterations: { ms: number; scale: number; iteration: number; total: number }[];
  done: Record<string, unknown>;
}

function trace(run: ChildRun): Trace {
  const events = jsonLines(run);
  const done = events.find((e) => e.event.event === "done")?.event;
  if (!done) throw new Error("no done event");
  const iterations = events.filter((e) => e.event.event === "iteration").map((e) => ({
    ms: e.ms,
    scale: e.event.scale as number,
    iteration: e.event.iteration as number,
    total: e.event.total as number,
  }));
  const finalScale = Math.max(...iterations.map((i) => i.scale));
  return { finalScale, iterations, done };
}

/** Images resized to one height and laid side by side, rows stacked, on white. */
function grid(rows: RgbImage[][], height: number, gap = 8): RgbImage {
  const scaled = rows.map((row) =>
    row.map((im) => resizeImage(im, { width: Math.round((im.width * height) / im.height), height }))
  );
  const widths = scaled.map((row) =>
    row.reduce((a, im) => a + im.width, 0) + gap * (row.length + 1)
  );
  const W = Math.max(...widths);
  const H = rows.length * height + gap * (rows.length + 1);
  const out = new Float32Array(3 * W * H).fill(1);
  scaled.forEach((row, r) => {
    let x0 = gap;
    const y0 = gap + r * (height + gap);
    for (const im of row) {
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < im.height; y++) {
          const src = c * im.width * im.height + y * im.width;
          out.set(im.data.subarray(src, src + im.width), c * W * H + (y0 + y) * W + x0);
        }
      }
      x0 += im.width + gap;
    }
  });
  return rgbImage(W, H, out);
}

/** Runs the suite, printing its table; returns the rows. */
export async function qualitySuite(options: QualitySuiteOptions = {}): Promise<QualitySuiteResult> {
  const size = options.size ?? 384;
  const pairs = options.pairs ?? PAIRS;
  const { env, blas } = await referenceEnv();
  const exported = await exportNetwork("inception");
  const minSize = JSON.parse(await Deno.readTextFile(`${exported.prefix}.json`)).minSize;
  const dir = `${RESULTS_DIR}quality`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.mkdir(`${CACHE_DIR}quality`, { recursive: true });
  const recipeJson = { network: "inception", size };
  const recipe = `${CACHE_DIR}quality/recipe_${size}.json`;
  await Deno.writeTextFile(recipe, JSON.stringify(recipeJson));
  const threads = navigator.hardwareConcurrency;

  console.log(`Time to quality: default recipe at ${size} px (InceptionV3, 2 scales, 150 L-BFGS`);
  console.log("iterations per scale), stylegram (cli.ts, backend auto) vs the PyTorch reference,");
  console.log("same input pixels, all cores each, one process each, order rotating per pair.");
  console.log(
    "PyTorch's L-BFGS has no bounds; two variants: clamp = pixels clamped to [0, 1] after",
  );
  console.log(
    "every iteration, free = unbounded within a scale (clamped between scales and at the end).",
  );
  console.log(
    "Rule: T = the final-scale cost of the image the reference delivers (its last iterate",
  );
  console.log("clamped to [0, 1]); ref s = wall time from spawning the reference to its last");
  console.log("iteration's progress line; sg s = wall time from spawning stylegram to its first");
  console.log("final-scale progress line with total ≤ T (start-up, network loading and the first");
  console.log("scale count for both); sg it = that line's iteration at the final scale.");
  console.log("Judge: the reference's objective at the final scale recomputed on the output PNGs");
  console.log(`(lower is better). PyTorch ${blas}.`);
  console.log();

  const rows: QualityRow[] = [];
  const failed: string[] = [];
  const gridRows: RgbImage[][] = [];
  for (const [p, [contentName, styleName]] of pairs.entries()) {
    const pair = `${contentName} × ${styleName}`;
    const stem = `${contentName}_${styleName}`;
    const contentFile = `${ROOT}examples/${contentName}.jpg`;
    const styleFile = `${ROOT}examples/${styleName}.jpg`;
    const bundle = `${CACHE_DIR}quality/${stem}_${size}.safetensors`;
    const inputs = await writeInputs(
      bundle,
      { content: contentFile, styles: [styleFile] },
      recipeJson,
      { networkMinSize: minSize },
    );
    const sgPng = `${dir}/${stem}_stylegram.png`;
    const refPng = (variant: string) => `${dir}/${stem}_reference_${variant}.png`;
    const jobs: [string, () => Promise<ChildRun>][] = [
      ["stylegram", () =>
        runChild(Deno.execPath(), [
          "run",
          "-A",
          "cli.ts",
          contentFile,
          styleFile,
          "--recipe",
          recipe,
          "--json",
          "-o",
          sgPng,
        ], { timeoutMs: RUN_TIMEOUT_MS })],
      ...Object.entries(VARIANTS).map(([variant, bounds]): [string, () => Promise<ChildRun>] => [
        variant,
        () => {
          const { cmd, args } = referenceCommand({
            network: exported.prefix,
            inputs: bundle,
            recipe,
            threads,
            extra: ["--json", "--bounds", bounds, "-o", refPng(variant)],
          });
          return runChild(cmd, args, { env, timeoutMs: RUN_TIMEOUT_MS });
        },
      ]),
    ];
    const runs = new Map<string, ChildRun>();
    for (let j = 0; j < jobs.length; j++) {
      const [name, job] = jobs[(j + p) % jobs.length];
      runs.set(name, await job());
    }
    const bad = [...runs].find(([, r]) => r.code !== 0);
    if (bad) {
      failed.push(`${pair}: ${bad[0]}: ${failure(bad[1])}`);
      console.log(`failed: ${failed.at(-1)}`);
      continue;
    }
    const s = trace(runs.get("stylegram")!);
    const { cmd, args } = referenceCommand({
      network: exported.prefix,
      inputs: bundle,
      recipe,
      threads,
      extra: ["--score", sgPng, ...Object.keys(VARIANTS).flatMap((v) => ["--score", refPng(v)])],
    });
    const judge = await runChild(cmd, args, { env });
    if (judge.code !== 0) {
      failed.push(`${pair}: judge: ${failure(judge)}`);
      console.log(`failed: ${failed.at(-1)}`);
      continue;
    }
    const [jsg, ...jrefs] = jsonLines(judge).map((e) => e.event);
    const final = inputs.scales.at(-1)!;
    Object.keys(VARIANTS).forEach((variant, v) => {
      const run = runs.get(variant)!;
      const r = trace(run);
      const refLast = r.iterations.filter((i) => i.scale === r.finalScale).at(-1)!;
      const target = r.done.outputTotal as number;
      const reached = s.iterations.find((i) => i.scale === s.finalScale && i.total <= target);
      rows.push({
        pair,
        variant,
        output: `${final.width}×${final.height}`,
        target,
        referenceLastTotal: refLast.total,
        referenceSeconds: refLast.ms / 1000,
        stylegramSeconds: reached ? reached.ms / 1000 : undefined,
        ratio: reached ? reached.ms / refLast.ms : undefined,
        stylegramIteration: reached?.iteration,
        stylegramFinal: s.done.total as number,
        wallSeconds: {
          stylegram: runs.get("stylegram")!.wallMs / 1000,
          reference: run.wallMs / 1000,
        },
        evaluations: {
          stylegram: s.done.evaluations as number,
          reference: r.done.evaluations as number,
        },
        judged: { stylegram: jsg.total as number, reference: jrefs[v].total as number },
        judgedTerms: {
          stylegram: jsg.terms as Record<string, number>,
          reference: jrefs[v].terms as Record<string, number>,
        },
      });
    });
    gridRows.push([
      await readImage(contentFile),
      await readImage(styleFile),
      await readImage(sgPng),
      ...await Promise.all(Object.keys(VARIANTS).map((v) => readImage(refPng(v)))),
    ]);
  }

  printTable(
    [
      "pair",
      "reference",
      "T",
      "ref s",
      "sg s",
      "sg/ref",
      "sg it",
      "sg final",
      "evals sg/ref",
      "judge sg",
      "judge ref",
      "judge sg/ref",
    ],
    rows.map((r) => [
      r.pair,
      r.variant,
      r.target.toPrecision(4),
      fixed(r.referenceSeconds, 1),
      r.stylegramSeconds === undefined ? "not reached" : fixed(r.stylegramSeconds, 1),
      r.ratio === undefined ? "–" : fixed(r.ratio, 2),
      r.stylegramIteration === undefined ? "–" : String(r.stylegramIteration),
      r.stylegramFinal.toPrecision(4),
      `${r.evaluations.stylegram}/${r.evaluations.reference}`,
      r.judged.stylegram.toPrecision(4),
      r.judged.reference.toPrecision(4),
      fixed(r.judged.stylegram / r.judged.reference, 3),
    ]),
  );
  const stylegramWall = [
    ...new Set(rows.map((r) => `${r.pair}: ${fixed(r.wallSeconds.stylegram, 0)}`)),
  ];
  if (rows.length) console.log(`stylegram whole-run wall s: ${stylegramWall.join("; ")}`);
  for (const f of failed) console.log(`failed: ${f}`);
  let gridPath: string | undefined;
  if (gridRows.length) {
    gridPath = `${RESULTS_DIR}quality_grid_${stamp()}.png`;
    await writeImage(grid(gridRows, 256), gridPath);
    console.log(
      `grid (content | style | stylegram | reference clamp | reference free): ${gridPath}`,
    );
  }
  return { size, rows, grid: gridPath, failed };
}
