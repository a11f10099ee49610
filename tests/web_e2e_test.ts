/**
 * The playground end to end in real headless Chromium (Debian's chromium,
 * driven by playwright-core over CDP): load the page, find a run error in red,
 * add two images, find an over-the-limit size refused in the schema's words,
 * paint where each of two styles goes, run two scales of a few iterations on
 * wasm with the tiny network, watch the preview change and the progress never
 * go back, share (and find Share off until something changes), open the link
 * in a fresh phone-sized context and find the same settings, images, masks and
 * result, with no sideways scrolling and Start in reach. Screenshots of each
 * step go to test-results/.
 */

import type { Page } from "playwright-core";
import { assert, assertEquals } from "./support/assert.ts";
import { CHROMIUM, chromiumInstalled } from "../scripts/chromium.ts";
import { startPlayground } from "../scripts/playground.ts";
import { playgroundRecipe } from "../web/server/pages.tsx";
import { createState, editRecipe, progressOf } from "../web/client/state.ts";
import {
  alreadyShared,
  inputsKey,
  resultIsCurrent,
  Runner,
  shareKey,
} from "../web/client/runner.ts";
import { browserNotice, browserText } from "../web/client/wording.ts";
import type { PickedImage } from "../web/client/images.ts";
import type { FromWorker } from "../web/client/protocol.ts";

const hasChromium = await chromiumInstalled();
if (!hasChromium) {
  console.log(`web e2e skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
}

const root = new URL("..", import.meta.url).pathname;
const shots = `${root}test-results`;

/** A phone's viewport (an iPhone 12 to 15). */
const PHONE = { width: 390, height: 844 };

/** The page's widths: sideways scrolling exists when `scrollWidth` exceeds the others. */
const widths = (page: Page) =>
  page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    innerWidth,
    // What sticks out, to say why.
    wide: [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}.${e.className}`),
  }));

async function assertNoSidewaysScroll(page: Page, where: string): Promise<void> {
  const w = await widths(page);
  assert(
    w.scrollWidth <= w.innerWidth && w.scrollWidth <= w.clientWidth,
    `${where}: no horizontal scroll at ${PHONE.width} px: ${JSON.stringify(w)}`,
  );
}

/** Whether Start is on screen, unhidden: its box inside the viewport and nothing over its middle. */
const startInView = (page: Page) =>
  page.evaluate(() => {
    const start = document.getElementById("start")!;
    const r = start.getBoundingClientRect();
    const inside = r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return inside && (top === start || start.contains(top));
  });

/** The run's progress values from now on, every one the bar shows (read with `progressSeen`). */
const watchProgress = (page: Page) =>
  page.evaluate(() => {
    const bar = document.getElementById("progress") as HTMLProgressElement;
    const seen: number[] = [bar.value];
    (globalThis as unknown as { progressSeen: number[] }).progressSeen = seen;
    new MutationObserver((records) => {
      for (const r of records) seen.push(Number(r.oldValue ?? 0));
      seen.push(bar.value);
    }).observe(bar, { attributes: true, attributeFilter: ["value"], attributeOldValue: true });
  });
const progressSeen = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { progressSeen: number[] }).progressSeen);

/** The red of `--error` in web/static/style.css. */
const ERROR_RED = "rgb(179, 38, 30)";

Deno.test({
  name: "playground: run in the browser, share, and reopen the share in a fresh context",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await Deno.mkdir(shots, { recursive: true });
    const playground = await startPlayground();
    const { tmp, origin, browser } = playground;
    // A long file name without a break must not widen a phone's page.
    const longName = `${tmp}/${"a_photo_with_a_really_long_file_name_".repeat(3)}cat.jpg`;
    await Deno.copyFile(`${root}examples/cat.jpg`, longName);
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
      // On a desktop the output stands beside the controls, Start at the top of it.
      const layout = await page.evaluate(() => {
        const box = (s: string) => document.querySelector(s)!.getBoundingClientRect();
        return {
          controls: box(".controls").right,
          output: box(".output").left,
          start: box("#start").top,
        };
      });
      assert(layout.output >= layout.controls && layout.start < 150, JSON.stringify(layout));
      // A run that cannot start says why, in red (not in the status's grey).
      await page.click("#start");
      await page.waitForSelector("#status-message.error");
      assertEquals(await page.textContent("#status-message"), "add a style image first");
      assertEquals(
        await page.$eval("#status-message", (e) => getComputedStyle(e).color),
        ERROR_RED,
        "a run error is red",
      );
      await page.setInputFiles("#content-file", `${root}examples/cat.jpg`);
      await page.setInputFiles("#style-file", `${root}examples/kandinsky.jpg`);
      await page.waitForSelector(".styles li");
      await page.setInputFiles("#style-file", `${root}examples/great_wave.jpg`);
      await page.waitForFunction(() => document.querySelectorAll(".styles li").length === 2);
      await page.selectOption("#network", "tiny");
      // The page refuses what the schema refuses for browsers, in the schema's words.
      const problem = () => page.textContent("#recipe-problem").catch(() => null);
      await page.fill("#size", "8192");
      await page.dispatchEvent("#size", "change");
      await page.waitForSelector("#recipe-problem");
      assertEquals(
        await problem(),
        "recipe: option size must be ≥ 16 and ≤ 4096 in a browser, got 8192",
      );
      assert(await page.isDisabled("#start"), "Start is disabled while the recipe is refused");
      assertEquals(
        await page.textContent("#start-problem"),
        "Start is off: recipe: option size must be ≥ 16 and ≤ 4096 in a browser, got 8192",
        "and says why beside Start",
      );
      await page.fill("#size", "64");
      await page.dispatchEvent("#size", "change");
      await page.waitForSelector("#recipe-problem", { state: "detached" });
      await page.waitForSelector("#start-problem", { state: "detached" });
      assert(!(await page.isDisabled("#start")), "Start is enabled again");
      await page.fill("#iterations", "12");
      await page.dispatchEvent("#iterations", "change");
      // Two scales, 32 then 64 px: the progress must not jump to the end between them.
      await page.fill("#scales", "2");
      await page.dispatchEvent("#scales", "change");
      await page.click("details.more summary");
      await page.fill("#min-size", "32");
      await page.dispatchEvent("#min-size", "change");
      await page.selectOption("#backend", "wasm");
      await page.screenshot({ path: `${shots}/playground_1_images.png` });

      // Paint: style 1 down the left side, style 2 in the lower right; undo works.
      const maskPixels = (p: typeof page) =>
        p.evaluate(() => {
          const c = document.getElementById("mask-canvas") as HTMLCanvasElement;
          return Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data);
        });
      await page.locator("#mask-canvas").scrollIntoViewIfNeeded();
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
      await watchProgress(page);
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
      assert(status!.includes("scale 2/2"), `two scales ran: ${status}`);
      assert(/ms\/iteration/.test(status!), `speed shown: ${status}`);
      const progress = await progressSeen(page);
      const back = progress.findIndex((v, i) => i > 0 && v < progress[i - 1]);
      assertEquals(back, -1, `the progress never goes back: ${progress.join(" ")}`);
      assertEquals(progress.at(-1), 1, "done is all the bar");
      assert(
        progress.some((v) => v > 0 && v < 0.5) && progress.some((v) => v > 0.5 && v < 1),
        `the bar moved through both scales: ${progress.join(" ")}`,
      );
      // Nothing the page says belongs to the command line only.
      const words = await page.evaluate(() =>
        [
          document.body.innerText,
          ...[...document.querySelectorAll("[title]")].map((e) => e.getAttribute("title")),
          ...[...document.querySelectorAll("option")].map((e) => e.textContent),
        ].join("\n")
      );
      for (const cli of [/\bnative\b/i, /--[a-z]/, /\.safetensors|\.onnx/, /\bminSize\b/]) {
        assert(
          !cli.test(words),
          `the page says ${cli}: ${words.split("\n").find((l) => cli.test(l))}`,
        );
      }
      await page.screenshot({ path: `${shots}/playground_2_result.png` });

      // 3. Share.
      await page.click("#share");
      await page.waitForFunction(() =>
        (document.getElementById("share-url") as HTMLInputElement | null)?.value
      );
      const link = await page.inputValue("#share-url");
      assert(link.startsWith(`${origin}/s/`), link);
      // The same state twice is the same share: Share waits for a change.
      assert(await page.isDisabled("#share"), "Share is off right after sharing");
      assertEquals(await page.textContent("#share"), "Shared");
      await page.screenshot({ path: `${shots}/playground_3_shared.png` });
      const resultPixels = await page.evaluate(() => {
        const c = document.getElementById("preview") as HTMLCanvasElement;
        return Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data);
      });

      // 4. A fresh phone-sized context opens the link: same settings, images and result.
      const second = await browser.newContext({ viewport: PHONE, hasTouch: true });
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

      // On the phone: no sideways scrolling, Start in reach at the top and among the cost cards.
      await assertNoSidewaysScroll(other, "the share page");
      await other.evaluate(() => scrollTo(0, 0));
      assert(await startInView(other), "Start is on screen without scrolling");
      await other.screenshot({ path: `${shots}/playground_phone.png` });
      await other.locator(".cost").nth(1).scrollIntoViewIfNeeded();
      assert(await startInView(other), "Start stays in reach among the cost cards");
      await other.evaluate(() => scrollTo(0, 0));
      // The page is the share: Share waits for a new result of changed inputs; a change
      // without a run would share a result of other settings, and one undone is the share again.
      assert(await other.isDisabled("#share"), "Share is off on the share's own page");
      assertEquals(await other.textContent("#share"), "Shared");
      assertEquals(await other.inputValue("#share-url"), link);
      await other.fill("#seed", "1");
      await other.dispatchEvent("#seed", "change");
      await other.waitForFunction(() => document.getElementById("share")?.textContent === "Share");
      assert(await other.isDisabled("#share"), "the result is of the old seed: run first");
      assert((await other.getAttribute("#share", "title"))!.includes("run again"));
      await other.fill("#seed", "0");
      await other.dispatchEvent("#seed", "change");
      await other.waitForFunction(() => document.getElementById("share")?.textContent === "Shared");

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

      // Whoever made the share can delete it (its token is kept in that browser only).
      assertEquals(await other.locator("#delete-share").count(), 0, "not in another browser");
      const mine = await first.newPage();
      mine.on("pageerror", (e) => errors.push(e.message));
      mine.on("dialog", (d) => d.accept());
      await mine.goto(link);
      await mine.waitForSelector("#delete-share");
      await mine.click("#delete-share");
      await mine.waitForFunction(() =>
        /the share was deleted/.test(document.getElementById("status-message")?.textContent ?? "")
      );
      const gone = await fetch(`${origin}/api/shares/${link.split("/s/")[1]}`);
      await gone.body?.cancel();
      assertEquals(gone.status, 404);
      assert(!(await other.isDisabled("#share")), "a new result can be shared");
      // Clear takes the painting off the canvas too.
      await other.click("#mask-clear");
      await other.waitForFunction(() => {
        const c = document.getElementById("mask-canvas") as HTMLCanvasElement;
        return c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data.every((v) => v === 0);
      });

      // 6. The home page on the phone, with images (one of a long name) and every setting open.
      const home = await second.newPage();
      home.on("pageerror", (e) => errors.push(e.message));
      await home.goto(`${origin}/`);
      await home.waitForFunction(() => document.getElementById("playground-props") !== null);
      await assertNoSidewaysScroll(home, "the empty home page");
      assert(await startInView(home), "Start is on screen without scrolling (home)");
      await home.setInputFiles("#content-file", longName);
      await home.setInputFiles("#style-file", `${root}examples/kandinsky.jpg`);
      await home.waitForSelector(".styles li");
      await home.setInputFiles("#style-file", `${root}examples/great_wave.jpg`);
      await home.waitForFunction(() => document.querySelectorAll(".styles li").length === 2);
      await home.click("details.more summary");
      await home.selectOption("#add-cost", "mean-covariance");
      await home.waitForFunction(() => document.querySelectorAll(".cost").length === 4);
      await assertNoSidewaysScroll(home, "the home page with images");
      await home.evaluate(() => scrollTo(0, 0));
      assert(await startInView(home), "Start is on screen without scrolling (home, images)");
      await home.screenshot({ path: `${shots}/playground_phone_home.png`, fullPage: true });
      assertEquals(errors, []);
    } finally {
      await playground.stop();
    }
  },
});

// The page's own logic without a browser: a stand-in worker feeds the runner what a run says.

/** A picked image with nothing behind it but its size. */
const fakeImage = (name: string): PickedImage => ({
  name,
  bytes: new Uint8Array(),
  type: "image/png",
  width: 4,
  height: 4,
  planar: new Float32Array(48),
  url: `blob:${name}`,
});

/** A playground state and a runner whose worker is a stand-in: `say` is what the worker posts. */
function fakeRun() {
  const state = createState({
    recipe: playgroundRecipe(),
    networks: [],
    assets: { worker: "worker.js", bundles: {} },
  });
  state.styles.value = [fakeImage("style.png")];
  let worker: { onmessage?: (e: { data: FromWorker }) => void } | undefined;
  const real = globalThis.Worker;
  globalThis.Worker = class {
    onmessage?: (e: { data: FromWorker }) => void;
    constructor() {
      worker = this;
    }
    postMessage() {}
  } as unknown as typeof Worker;
  const runner = new Runner(state, { worker: "worker.js", bundles: {} });
  try {
    runner.start();
  } finally {
    globalThis.Worker = real;
  }
  return { state, say: (m: FromWorker) => worker!.onmessage!({ data: m }) };
}

Deno.test("playground client: the progress never goes back across scales, and is 1 when done", () => {
  const { state, say } = fakeRun();
  const seen = [progressOf(state.status.value)];
  for (let scale = 1; scale <= 2; scale++) {
    say({ type: "scale", scale, scales: 2, width: 32 * scale, height: 32 * scale });
    seen.push(progressOf(state.status.value));
    for (let iteration = 1; iteration <= 3; iteration++) {
      say({
        type: "iteration",
        scale,
        scales: 2,
        iteration,
        iterations: 3,
        msPerIteration: 5,
        total: 1,
        terms: {},
      });
      seen.push(progressOf(state.status.value));
    }
  }
  assertEquals(state.status.value.iteration, 3);
  say({ type: "scale", scale: 3, scales: 3, width: 96, height: 96 });
  assertEquals(state.status.value.iteration, undefined, "a new scale starts at iteration 0");
  assertEquals(
    seen.map((v) => Math.round(v * 6)),
    [0, 0, 1, 2, 3, 3, 4, 5, 6],
    "sixths of the run, scale by scale",
  );
  say({
    type: "done",
    image: { width: 1, height: 1, rgba: new Uint8ClampedArray(4) },
    backend: "wasm",
    device: "WebAssembly",
    seconds: 1,
    iterations: 6,
    total: 1,
    terms: {},
  });
  assertEquals(progressOf(state.status.value), 1);
});

Deno.test("playground client: backend notices and messages in a browser's words", () => {
  const { state, say } = fakeRun();
  say({
    type: "notice",
    message:
      "backend: wasm (WebAssembly SIMD, 4 thread(s)) — native unavailable; no WebGPU adapter",
  });
  assertEquals(
    state.status.value.backend,
    "wasm (WebAssembly SIMD, 4 thread(s)) — no WebGPU adapter",
  );
  assertEquals(
    browserNotice("backend: webgpu (WebGPU nvidia) — native unavailable; hardware GPU"),
    { backend: "webgpu (WebGPU nvidia) — hardware GPU" },
  );
  assertEquals(browserNotice("backend: wasm (WebAssembly)"), { backend: "wasm (WebAssembly)" });
  say({ type: "notice", message: "webgpu: no WebGPU adapter here, falling back to wasm" });
  say({
    type: "notice",
    message: "scales: one scale only, since the output (64 px) is not larger than minSize (128 px)",
  });
  assertEquals(state.status.value.notes, [
    "WebGPU is not available in this browser: running on WebAssembly instead",
    "one scale only, since the output (64 px) is not larger than the smallest scale (128 px)",
  ]);
  say({
    type: "error",
    message: "the mask is 4×5; give a mask of the same shape, or stretch it with --stretch-masks",
  });
  assertEquals(
    state.status.value.message,
    "the mask is 4×5; give a mask of the same shape, or stretch it with the setting “Stretch masks to their image”",
  );
  assertEquals(
    browserText("--size-x and --size"),
    "--size-x and the setting “Size (px, longer side)”",
  );
});

Deno.test("playground client: Share waits for a change to what was shared", () => {
  const state = createState({
    recipe: playgroundRecipe(),
    networks: [],
    assets: { worker: "worker.js", bundles: {} },
  });
  state.styles.value = [fakeImage("style.png")];
  state.image.value = { width: 1, height: 1, rgba: new Uint8ClampedArray(4) };
  state.finished.value = true;
  state.resultFrom.value = inputsKey(state);
  assert(resultIsCurrent(state), "the result is of these inputs");
  assert(!alreadyShared(state), "nothing shared yet");
  state.shared.value = { url: "http://x/s/1", key: shareKey(state) };
  assert(alreadyShared(state), "just shared");
  editRecipe(state, (r) => (r.seed = 7));
  assert(!alreadyShared(state), "the recipe changed");
  assert(!resultIsCurrent(state), "but the result is of the old seed: not shareable");
  editRecipe(state, (r) => (r.seed = 0));
  assert(alreadyShared(state), "changed back: the same share");
  assert(resultIsCurrent(state));
  const changes: [string, () => void][] = [
    ["a style image", () => (state.styles.value = [fakeImage("style.png")])],
    ["the content image", () => (state.content.value = fakeImage("content.png"))],
    ["the masks", () => (state.masks.value = { width: 4, height: 4, labels: new Uint8Array(16) })],
    ["the result", () => (state.image.value = { ...state.image.value! })],
  ];
  for (const [what, change] of changes) {
    change();
    assert(!alreadyShared(state), `${what} changed`);
    state.shared.value = { ...state.shared.value, key: shareKey(state) };
  }
});
