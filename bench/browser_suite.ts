/**
 * Browser suite: ms per iteration of the playground's own worker (the same
 * `stylize` on onnxruntime-web's WebAssembly backend) in headless Chromium,
 * next to stylegram's CLI on wasm in Deno and the PyTorch reference, same
 * recipe and pixels.
 *
 * The web assets are built with `web/build.ts` into a temporary folder and
 * served by `web/server/app.ts` (cross-origin isolated, so wasm threads
 * work); Debian's `/usr/bin/chromium` is started with remote debugging and
 * driven through playwright-core over CDP. The benchmark page script starts
 * the worker bundle itself, posts one "start" message (InceptionV3 from the
 * asset bundle, one scale, backend wasm, no previews) and collects the
 * worker's `iteration` messages, whose `msPerIteration` is what the table
 * reports (median, the first two iterations left out).
 *
 * @module
 */

import { fitLongSide, resizeImage } from "../core/image.ts";
import { readImage, writeImage } from "../io.ts";
import { CACHE_DIR, exportNetwork } from "./reference/export_network.ts";
import { writeInputs } from "./reference/inputs.ts";
import { referenceCommand, referenceEnv } from "./reference/python.ts";
import { failure, fixed, jsonLines, median, printTable, ROOT, runChild } from "./measure.ts";
import { CHROMIUM, chromiumInstalled } from "../scripts/chromium.ts";
import { startPlayground } from "../scripts/playground.ts";

/** One engine's figure. */
export interface BrowserRow {
  /** chromium-wasm, deno-wasm or pytorch. */
  engine: string;
  /** Device description. */
  device: string;
  /** Median ms per iteration over every run (first two iterations of each left out). */
  msPerIteration: number;
  /** Iterations behind the median. */
  samples: number;
}

/** What the suite measured (or why it was skipped). */
export interface BrowserSuiteResult {
  /** Why it did not run, or "". */
  skipped: string;
  /** Image side. */
  size: number;
  /** Rows. */
  rows: BrowserRow[];
  /** Failures. */
  failed: string[];
}

/** Options of {@linkcode browserSuite}. */
export interface BrowserSuiteOptions {
  /** Square side (default 256). */
  size?: number;
  /** Iterations per run (default 12). */
  iterations?: number;
  /** Runs per engine, alternating order (default 2). */
  rounds?: number;
}

/** The page-side benchmark: runs the worker once, returns its per-iteration times. */
interface PageRun {
  ms: number[];
  device: string;
  isolated: boolean;
  error?: string;
}

/** Runs the suite, printing its table. */
export async function browserSuite(options: BrowserSuiteOptions = {}): Promise<BrowserSuiteResult> {
  const size = options.size ?? 256;
  const iterations = options.iterations ?? 12;
  const rounds = options.rounds ?? 2;
  console.log(
    `In the browser: ms per iteration at ${size}², InceptionV3, default costs, one scale, ` +
      `${iterations} iterations,`,
  );
  console.log(
    "wasm: the playground's worker in headless Chromium vs cli.ts --backend wasm in Deno (both",
  );
  console.log(
    "all threads), and PyTorch (all threads); medians of msPerIteration, first 2 left out.",
  );
  if (!(await chromiumInstalled())) {
    const skipped =
      `browser suite skipped: ${CHROMIUM} is not installed (apt-get install chromium)`;
    console.log(skipped);
    return { skipped, size, rows: [], failed: [] };
  }

  // Inputs as files, so that the CLI, the page and the reference all read the same pixels.
  const dir = `${CACHE_DIR}browser`;
  await Deno.mkdir(dir, { recursive: true });
  const contentPng = `${dir}/content_${size}.png`;
  const stylePng = `${dir}/style_${size}.png`;
  await writeImage(
    resizeImage(await readImage(`${ROOT}examples/cat.jpg`), { width: size, height: size }),
    contentPng,
  );
  const rawStyle = await readImage(`${ROOT}examples/kandinsky.jpg`);
  await writeImage(resizeImage(rawStyle, fitLongSide(rawStyle, size)), stylePng);
  const content = await readImage(contentPng);
  const style = await readImage(stylePng);
  const recipeJson = {
    network: "inception",
    size,
    scales: 1,
    iterations,
    backend: "wasm",
    previewEvery: 0,
  };
  const recipeFile = `${dir}/recipe_${size}.json`;
  await Deno.writeTextFile(recipeFile, JSON.stringify(recipeJson));
  const exported = await exportNetwork("inception");
  const minSize = JSON.parse(await Deno.readTextFile(`${exported.prefix}.json`)).minSize;
  const bundle = `${dir}/bundle_${size}.safetensors`;
  await writeInputs(bundle, { content: contentPng, styles: [stylePng] }, recipeJson, {
    networkMinSize: minSize,
  });
  const { env } = await referenceEnv();

  const playground = await startPlayground();
  const { manifest, origin, browser } = playground;

  const samples: Record<string, { ms: number[]; device: string }> = {};
  const add = (engine: string, ms: number[], device: string) => {
    samples[engine] ??= { ms: [], device };
    samples[engine].ms.push(...ms.slice(2));
  };
  const failed: string[] = [];
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    const runInPage = (): Promise<PageRun> =>
      page.evaluate(
        ({ worker, bundles, recipe, content, style }) =>
          new Promise<PageRun>((resolve) => {
            const w = new Worker(worker, { type: "module" });
            const ms: number[] = [];
            const planar = (im: { width: number; height: number; data: number[] }) => ({
              width: im.width,
              height: im.height,
              data: Float32Array.from(im.data),
            });
            const finish = (run: Omit<PageRun, "ms" | "isolated">) => {
              w.terminate();
              resolve({
                ms,
                isolated:
                  (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
                ...run,
              });
            };
            const timer = setTimeout(() => finish({ device: "", error: "timed out" }), 300_000);
            w.onmessage = (e) => {
              const m = e.data;
              if (m.type === "iteration") ms.push(m.msPerIteration);
              else if (m.type === "done") {
                clearTimeout(timer);
                finish({ device: `${m.backend}: ${m.device}` });
              } else if (m.type === "error") {
                clearTimeout(timer);
                finish({ device: "", error: m.message });
              }
            };
            w.onerror = (e) => finish({ device: "", error: e.message || "worker failed" });
            w.postMessage({
              type: "start",
              recipe,
              content: planar(content),
              styles: [planar(style)],
              bundles,
            });
          }),
        {
          worker: manifest.worker,
          bundles: manifest.bundles,
          recipe: { version: 1, ...recipeJson },
          content: { width: content.width, height: content.height, data: Array.from(content.data) },
          style: { width: style.width, height: style.height, data: Array.from(style.data) },
        },
      );
    const runCli = async () => {
      const run = await runChild(Deno.execPath(), [
        "run",
        "-A",
        "cli.ts",
        contentPng,
        stylePng,
        "--recipe",
        recipeFile,
        "--json",
        "-o",
        `${dir}/out_deno_${size}.png`,
      ], { timeoutMs: 5 * 60_000 });
      if (run.code !== 0) throw new Error(`cli: ${failure(run)}`);
      const events = jsonLines(run).map((e) => e.event);
      const done = events.find((e) => e.event === "done")!;
      return {
        ms: events.filter((e) => e.event === "iteration").map((e) => e.msPerIteration as number),
        device: `${done.backend}: ${done.device}`,
      };
    };
    const runReference = async () => {
      const { cmd, args } = referenceCommand({
        network: exported.prefix,
        inputs: bundle,
        recipe: recipeFile,
        threads: navigator.hardwareConcurrency,
        extra: ["--json", "-o", `${dir}/out_reference_${size}.png`],
      });
      const run = await runChild(cmd, args, { env, timeoutMs: 5 * 60_000 });
      if (run.code !== 0) throw new Error(`reference: ${failure(run)}`);
      const events = jsonLines(run).map((e) => e.event);
      return {
        ms: events.filter((e) => e.event === "iteration").map((e) => e.msPerIteration as number),
        device: String(events.find((e) => e.event === "done")!.device),
      };
    };
    const engines: [string, () => Promise<{ ms: number[]; device: string }>][] = [
      ["chromium wasm", async () => {
        const r = await runInPage();
        if (r.error) throw new Error(`chromium: ${r.error}`);
        if (!r.isolated) throw new Error("chromium: the page is not cross-origin isolated");
        return r;
      }],
      ["deno wasm", runCli],
      ["pytorch", runReference],
    ];
    for (let round = 0; round < rounds; round++) {
      for (const [engine, run] of round % 2 ? [...engines].reverse() : engines) {
        try {
          const r = await run();
          add(engine, r.ms, r.device);
        } catch (e) {
          failed.push((e as Error).message.split("\n")[0]);
        }
      }
    }
    await context.close();
  } finally {
    await playground.stop();
  }

  const rows: BrowserRow[] = Object.entries(samples).map(([engine, s]) => ({
    engine,
    device: s.device,
    msPerIteration: median(s.ms),
    samples: s.ms.length,
  }));
  const of = (engine: string) => rows.find((r) => r.engine === engine)?.msPerIteration;
  printTable(
    ["engine", "ms/it", "n", "× PyTorch", "× deno wasm", "device"],
    rows.map((r) => [
      r.engine,
      fixed(r.msPerIteration, 0),
      String(r.samples),
      of("pytorch") ? `${fixed(r.msPerIteration / of("pytorch")!, 2)}×` : "–",
      of("deno wasm") ? `${fixed(r.msPerIteration / of("deno wasm")!, 2)}×` : "–",
      r.device,
    ]),
  );
  for (const f of failed) console.log(`failed: ${f}`);
  return { skipped: "", size, rows, failed };
}
