/**
 * A large image in the playground: the playground's worker in headless
 * Chromium makes a 4096 px image (one scale, InceptionV3, default costs,
 * wasm), which only fits the tab's memory in tiles. Reports the wall time,
 * the windows per evaluation, the size made, and the tile events seen.
 *
 * @module
 */

import { resizeImage } from "../core/image.ts";
import { readImage } from "../io.ts";
import { fixed, printTable, ROOT } from "./measure.ts";
import { CHROMIUM, chromiumInstalled } from "../scripts/chromium.ts";
import { startPlayground } from "../scripts/playground.ts";

/** What the run gave. */
export interface LargeBrowserRun {
  /** Requested longer side. */
  size: number;
  /** The image made (0 × 0 when it failed). */
  width: number;
  /** See `width`. */
  height: number;
  /** Windows per evaluation (from the tile events). */
  windows: number;
  /** Tile events received. */
  tileEvents: number;
  /** Wall seconds of the run in the page. */
  seconds: number;
  /** The worker's notices. */
  notices: string[];
  /** Why it failed, or "". */
  error: string;
}

/** Runs it, printing one table row. */
export async function largeBrowserRun(
  options: { size?: number; iterations?: number } = {},
): Promise<LargeBrowserRun | undefined> {
  const size = options.size ?? 4096;
  const iterations = options.iterations ?? 1;
  if (!(await chromiumInstalled())) {
    console.log(`large browser run skipped: ${CHROMIUM} is not installed`);
    return undefined;
  }
  const photo = await readImage(`${ROOT}examples/astronaut.jpg`);
  const painting = await readImage(`${ROOT}examples/van_gogh.jpg`);
  // Small inputs travel to the page; the worker resizes the content to the output size.
  const content = resizeImage(photo, { width: 512, height: 512 });
  const style = resizeImage(painting, { width: 512, height: 406 });
  const playground = await startPlayground();
  const manifest = playground.manifest;
  let result: LargeBrowserRun;
  try {
    const context = await playground.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${playground.origin}/`);
    result = await page.evaluate(
      ({ worker, bundles, recipe, content, style, size }) =>
        new Promise<LargeBrowserRun>((resolve) => {
          const w = new Worker(worker, { type: "module" });
          const started = performance.now();
          const notices: string[] = [];
          let windows = 0;
          let tileEvents = 0;
          const planar = (im: { width: number; height: number; data: number[] }) => ({
            width: im.width,
            height: im.height,
            data: Float32Array.from(im.data),
          });
          const finish = (width: number, height: number, error: string) => {
            w.terminate();
            const seconds = (performance.now() - started) / 1000;
            resolve({ size, width, height, windows, tileEvents, seconds, notices, error });
          };
          w.onmessage = (e) => {
            const m = e.data;
            if (m.type === "tile") (windows = m.windows, tileEvents++);
            else if (m.type === "notice") notices.push(m.message);
            else if (m.type === "done") finish(m.image.width, m.image.height, "");
            else if (m.type === "error") finish(0, 0, m.message);
          };
          w.onerror = (e) => finish(0, 0, e.message || "the worker failed");
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
        recipe: {
          version: 1,
          network: "inception",
          size,
          scales: 1,
          iterations,
          backend: "wasm",
          previewEvery: 0,
        },
        content: { width: content.width, height: content.height, data: Array.from(content.data) },
        style: { width: style.width, height: style.height, data: Array.from(style.data) },
        size,
      },
    );
    await context.close();
  } finally {
    await playground.stop();
  }
  printTable(
    ["asked", "made", "windows", "tile events", "seconds", "result"],
    [[
      `${size} px`,
      result.width ? `${result.width}×${result.height}` : "–",
      String(result.windows),
      String(result.tileEvents),
      fixed(result.seconds, 0),
      result.error || "done",
    ]],
  );
  for (const n of result.notices) console.log(`notice: ${n}`);
  return result;
}

if (import.meta.main) await largeBrowserRun({ size: Number(Deno.args[0] ?? 4096) });
