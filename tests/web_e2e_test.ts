/**
 * The playground end to end in real headless Chromium (Debian's chromium,
 * driven by playwright-core over CDP): load the page, add two images, find
 * an over-the-limit size refused in the schema's words, paint where each of
 * two styles goes, run a few iterations on wasm with the tiny network, watch
 * the preview change, share, open the link in a fresh context and find the
 * same settings, images, masks and result. Screenshots of each step go to test-results/.
 */

import { chromium } from "playwright-core";
import { buildWeb } from "../web/build.ts";
import { type App, createApp } from "../web/server/app.ts";
import { openShareStore } from "../web/server/storage.ts";
import { pageRenderer, type PageRequest } from "../web/server/pages.tsx";
import { assert, assertEquals } from "./support/assert.ts";
import { CHROMIUM, chromiumInstalled, startChromium } from "../scripts/chromium.ts";

const hasChromium = await chromiumInstalled();
if (!hasChromium) {
  console.log(`web e2e skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
}

const root = new URL("..", import.meta.url).pathname;
const shots = `${root}test-results`;

Deno.test({
  name: "playground: run in the browser, share, and reopen the share in a fresh context",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await Deno.mkdir(shots, { recursive: true });
    const tmp = await Deno.makeTempDir({ prefix: "stylegram-web-e2e-" });
    const manifest = await buildWeb({ outDir: `${tmp}/assets` });
    const store = await openShareStore(`${tmp}/shares.kv`);
    const render = pageRenderer(manifest);
    // The app takes its public origin (for link previews) up front: listen first, then make it.
    const served: { app?: App } = {};
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req, info) => served.app!(req, info),
    );
    const origin = `http://127.0.0.1:${server.addr.port}`;
    served.app = await createApp({
      store,
      assetsDir: tmp,
      origin,
      renderPage: (kind, data) => render({ kind, ...data } as PageRequest),
    });
    const browserProcess = await startChromium("stylegram-chromium-");
    const browser = await chromium.connectOverCDP(browserProcess.url);
    try {
      // 1. Load the page and add two images.
      const first = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      const page = await first.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => document.getElementById("playground-props") !== null);
      assert(
        await page.evaluate(() => crossOriginIsolated),
        "the page is cross-origin isolated (wasm threads)",
      );
      await page.setInputFiles("#content-file", `${root}examples/cat.jpg`);
      await page.setInputFiles("#style-file", `${root}examples/kandinsky.jpg`);
      await page.waitForSelector(".styles li");
      await page.setInputFiles("#style-file", `${root}examples/great_wave.jpg`);
      await page.waitForFunction(() => document.querySelectorAll(".styles li").length === 2);
      await page.selectOption("#network", "tiny");
      // The page refuses what the schema refuses for browsers, in the schema's words.
      const problem = () => page.textContent("#recipe-problem").catch(() => null);
      await page.fill("#size", "2048");
      await page.dispatchEvent("#size", "change");
      await page.waitForSelector("#recipe-problem");
      assertEquals(
        await problem(),
        "recipe: option size must be ≥ 16 and ≤ 1024 in a browser, got 2048",
      );
      assert(await page.isDisabled("#start"), "Start is disabled while the recipe is refused");
      await page.fill("#size", "64");
      await page.dispatchEvent("#size", "change");
      await page.waitForSelector("#recipe-problem", { state: "detached" });
      assert(!(await page.isDisabled("#start")), "Start is enabled again");
      await page.fill("#iterations", "12");
      await page.dispatchEvent("#iterations", "change");
      await page.fill("#scales", "1");
      await page.dispatchEvent("#scales", "change");
      await page.selectOption("#backend", "wasm");
      await page.screenshot({ path: `${shots}/playground_1_images.png` });

      // Paint: style 1 down the left side, style 2 in the lower right; undo works.
      const maskPixels = (p: typeof page) =>
        p.evaluate(() => {
          const c = document.getElementById("mask-canvas") as HTMLCanvasElement;
          return Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data);
        });
      const box = (await page.locator("#mask-canvas").boundingBox())!;
      const drag = async (points: [number, number][]) => {
        await page.mouse.move(box.x + points[0][0] * box.width, box.y + points[0][1] * box.height);
        await page.mouse.down();
        for (const [x, y] of points.slice(1)) {
          await page.mouse.move(box.x + x * box.width, box.y + y * box.height, { steps: 5 });
        }
        await page.mouse.up();
      };
      await page.fill("#brush-size", "40");
      await page.dispatchEvent("#brush-size", "input");
      await page.check("#mask-tool-1");
      await drag([[0.1, 0.1], [0.1, 0.9]]);
      const leftOnly = await maskPixels(page);
      await page.check("#mask-tool-2");
      await drag([[0.7, 0.6], [0.9, 0.9]]);
      const twoStrokes = await maskPixels(page);
      await drag([[0.5, 0.1], [0.6, 0.2]]);
      await page.click("#mask-undo");
      // The canvas is redrawn after the click returns: wait for the undone stroke to go.
      await page.waitForFunction((want) => {
        const c = document.getElementById("mask-canvas") as HTMLCanvasElement;
        const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        return data.every((v, i) => v === want[i]);
      }, twoStrokes);
      const painted = await maskPixels(page);
      assert(painted.some((v, i) => v !== leftOnly[i]), "the second stroke stayed");
      const colours = new Set<string>();
      for (let i = 0; i < painted.length; i += 4) {
        if (painted[i + 3]) colours.add(painted.slice(i, i + 3).join(","));
      }
      assertEquals(colours.size, 2, "two styles, two colours");
      await page.screenshot({ path: `${shots}/playground_1b_masks.png` });

      // 2. Run: the preview canvas changes while it runs.
      const canvasData = () =>
        page.evaluate(() => (document.getElementById("preview") as HTMLCanvasElement).toDataURL());
      const before = await canvasData();
      await page.click("#start");
      await page.waitForFunction(() =>
        document.getElementById("status-line")?.textContent?.includes("iteration")
      );
      await page.waitForFunction(
        () => /^done/.test(document.getElementById("status-message")?.textContent ?? ""),
        undefined,
        { timeout: 120_000 },
      );
      const after = await canvasData();
      assert(before !== after, "the preview canvas changed");
      const status = await page.textContent("#status-line");
      assert(status!.includes("wasm"), `backend shown: ${status}`);
      assert(/ms\/iteration/.test(status!), `speed shown: ${status}`);
      await page.screenshot({ path: `${shots}/playground_2_result.png` });

      // 3. Share.
      await page.click("#share");
      await page.waitForFunction(() =>
        (document.getElementById("share-url") as HTMLInputElement | null)?.value
      );
      const link = await page.inputValue("#share-url");
      assert(link.startsWith(`${origin}/s/`), link);
      await page.screenshot({ path: `${shots}/playground_3_shared.png` });
      const resultPixels = await page.evaluate(() => {
        const c = document.getElementById("preview") as HTMLCanvasElement;
        return Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data);
      });

      // 4. A fresh context opens the link: same settings, images and result.
      const second = await browser.newContext({ viewport: { width: 420, height: 900 } }); // phone width
      const other = await second.newPage();
      other.on("pageerror", (e) => errors.push(e.message));
      await other.goto(link);
      const og = await other.getAttribute('meta[property="og:image"]', "content");
      assert(og?.includes("/api/images/"), `og:image ${og}`);
      await other.waitForFunction(() =>
        /shared result/.test(document.getElementById("status-message")?.textContent ?? "")
      );
      assertEquals(await other.inputValue("#network"), "tiny");
      assertEquals(await other.inputValue("#size"), "64");
      assertEquals(await other.inputValue("#iterations"), "12");
      assertEquals(await other.inputValue("#backend"), "wasm");
      assertEquals(await other.locator(".styles li").count(), 2);
      await other.waitForSelector("#mask-canvas");
      await other.waitForFunction(() => {
        const c = document.getElementById("mask-canvas") as HTMLCanvasElement | null;
        return c && c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data.some((v) => v);
      });
      const restored = await maskPixels(other);
      assertEquals(restored.length, painted.length);
      const diff = restored.filter((v, i) => v !== painted[i]).length;
      assertEquals(diff, 0, "the painted masks are restored exactly");
      assert(
        await other.locator("#images-title ~ .drop img.thumb").count() >= 1,
        "content thumbnail shown",
      );
      const sharedPixels = await other.evaluate(() => {
        const c = document.getElementById("preview") as HTMLCanvasElement;
        return Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data);
      });
      assertEquals(sharedPixels.length, resultPixels.length);
      assert(
        sharedPixels.every((v, i) => v === resultPixels[i]),
        "the stored result is shown exactly",
      );
      await other.screenshot({ path: `${shots}/playground_4_reopened.png`, fullPage: true });

      // 5. "Run again" reproduces the result (same seed, same backend).
      await other.click("#start");
      await other.waitForFunction(
        () => /^done/.test(document.getElementById("status-message")?.textContent ?? ""),
        undefined,
        { timeout: 120_000 },
      );
      const againPixels = await other.evaluate(() => {
        const c = document.getElementById("preview") as HTMLCanvasElement;
        return Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data);
      });
      assert(
        againPixels.every((v, i) => v === resultPixels[i]),
        "running again reproduces the result",
      );
      await other.screenshot({ path: `${shots}/playground_5_run_again.png` });
      // Clear takes the painting off the canvas too.
      await other.click("#mask-clear");
      await other.waitForFunction(() => {
        const c = document.getElementById("mask-canvas") as HTMLCanvasElement;
        return c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data.every((v) => v === 0);
      });
      assertEquals(errors, []);
    } finally {
      await browser.close().catch(() => {});
      await browserProcess.stop();
      await server.shutdown();
      store.close();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
