/**
 * Whole-run benchmark: the wall time of the README's default command,
 *
 *     deno run -A cli.ts examples/cat.jpg examples/kandinsky.jpg -o OUT.png --size N
 *
 * (default recipe, backend auto, plus `--json` to read progress), each run in
 * a fresh process so Deno's start-up, loading the network, compiling the
 * graph and writing the image all count — what a user waits for. The
 * `--json` iteration events split that wall time into optimiser iterations
 * and everything else.
 *
 *     deno run -A bench/whole_run.ts --sizes 256 --runs 1
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

/** One size of the whole-run benchmark, over its runs. */
export interface WholeRunRow {
  /** `--size` (longer side of the output). */
  size: number;
  /** Output width × height. */
  output: string;
  /** Runs timed. */
  runs: number;
  /** Wall seconds of each run, in order. */
  wallSeconds: number[];
  /** Median wall seconds. */
  medianSeconds: number;
  /** Optimiser iterations of a run (all scales). */
  iterations: number;
  /** Scales of a run (coarse to fine). */
  scales: number;
  /** Mean seconds per iteration over all scales (median over runs). */
  secondsPerIteration: number;
  /** Mean seconds per iteration at the final, full-size scale (median over runs). */
  finalScaleSecondsPerIteration: number;
  /** Median wall seconds outside optimiser iterations (start-up, network, compiling, files). */
  overheadSeconds: number;
  /** Backend and device the run chose. */
  backend: string;
  /** Device description. */
  device: string;
  /** Network `auto` picked. */
  network: string;
}

/** What one run of the CLI reported and took. */
interface RunRecord {
  wall: number;
  iterationMs: number[];
  finalScaleMs: number[];
  scales: number;
  done: Record<string, unknown>;
}

const root = fileURLToPath(new URL("..", import.meta.url));

/** The default runs per size: two at 256 px and below, one above (a 512 px run takes minutes). */
export function defaultRuns(size: number): number {
  return size <= 256 ? 2 : 1;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Runs the default command once at `size`; a string says why it failed. */
async function runOnce(size: number, dir: string): Promise<RunRecord | string> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli.ts",
      "examples/cat.jpg",
      "examples/kandinsky.jpg",
      "-o",
      `${dir}/out_${size}.png`,
      "--size",
      String(size),
      "--json",
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - started) / 1000;
  if (!out.success) {
    const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
    return lines.findLast((l) => l.startsWith("stylegram:")) ?? lines.pop() ?? "failed";
  }
  const events = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  const scales = Math.max(...events.filter((e) => e.event === "scale").map((e) => e.scales));
  const iterations = events.filter((e) => e.event === "iteration");
  return {
    wall,
    iterationMs: iterations.map((e) => e.msPerIteration),
    finalScaleMs: iterations.filter((e) => e.scale === scales).map((e) => e.msPerIteration),
    scales,
    done: events.find((e) => e.event === "done"),
  };
}

/** Times the default command at `size`, `runs` times; a string says why it failed. */
export async function measureWholeRun(
  size: number,
  options: { runs?: number } = {},
): Promise<WholeRunRow | string> {
  const runs = options.runs ?? defaultRuns(size);
  const dir = await Deno.makeTempDir({ prefix: "stylegram-bench-" });
  try {
    const records: RunRecord[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await runOnce(size, dir);
      if (typeof r === "string") return r;
      records.push(r);
    }
    const { done } = records[0];
    return {
      size,
      output: `${done.width}×${done.height}`,
      runs,
      wallSeconds: records.map((r) => r.wall),
      medianSeconds: median(records.map((r) => r.wall)),
      iterations: done.iterations as number,
      scales: records[0].scales,
      secondsPerIteration: median(records.map((r) => mean(r.iterationMs) / 1000)),
      finalScaleSecondsPerIteration: median(records.map((r) => mean(r.finalScaleMs) / 1000)),
      overheadSeconds: median(
        records.map((r) => r.wall - r.iterationMs.reduce((a, b) => a + b, 0) / 1000),
      ),
      backend: done.backend as string,
      device: done.device as string,
      network: done.network as string,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the whole-run benchmark at each size, printing a table as rows come; returns the rows. */
export async function wholeRunSuite(
  sizes: readonly number[],
  options: { runs?: number } = {},
): Promise<WholeRunRow[]> {
  const runsOf = (size: number) => options.runs ?? defaultRuns(size);
  console.log(
    "Whole run: deno run -A cli.ts examples/cat.jpg examples/kandinsky.jpg -o OUT --size N",
  );
  console.log(
    `default recipe, backend auto; ${
      sizes.map((s) => `${runsOf(s)} run${runsOf(s) > 1 ? "s" : ""} at ${s} px`).join(", ")
    } (a median of more is too slow at 512 px)`,
  );
  console.log("wall s: median of the runs; s/it: mean per iteration, from the --json events;");
  console.log("other s: wall − time in iterations (start-up, network, compiling, image files)");
  console.log();
  const header =
    "size  output    runs  wall s  scales  iters  s/it all  s/it final  other s  backend  network";
  console.log(header);
  console.log("-".repeat(header.length));
  const rows: WholeRunRow[] = [];
  for (const size of sizes) {
    const r = await measureWholeRun(size, { runs: runsOf(size) });
    if (typeof r === "string") {
      console.log(`${String(size).padEnd(6)}failed: ${r}`);
      continue;
    }
    rows.push(r);
    console.log(
      `${String(size).padEnd(6)}${r.output.padEnd(10)}${String(r.runs).padStart(4)}` +
        `${r.medianSeconds.toFixed(1).padStart(8)}${String(r.scales).padStart(8)}` +
        `${String(r.iterations).padStart(7)}${r.secondsPerIteration.toFixed(3).padStart(10)}` +
        `${r.finalScaleSecondsPerIteration.toFixed(3).padStart(12)}` +
        `${r.overheadSeconds.toFixed(1).padStart(9)}  ${r.backend.padEnd(9)}${r.network}`,
    );
  }
  if (rows.length) console.log(`device: ${[...new Set(rows.map((r) => r.device))].join("; ")}`);
  return rows;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { sizes: { type: "string", default: "256,512" }, runs: { type: "string" } },
  });
  await wholeRunSuite(values.sizes.split(",").map(Number), {
    runs: values.runs === undefined ? undefined : Number(values.runs),
  });
}
