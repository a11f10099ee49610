/**
 * Plugins written in the playground, in real headless Chromium: write one
 * in the editor, run it (its term in the progress), share, reopen the link
 * in a fresh context (code, settings and result back; "Run again"
 * reproduces it), download the recipe and run it in the CLI; and hostile
 * plugin code — an endless loop, fetch, document, storage, importing a URL,
 * a huge graph — contained by the sandbox.
 */

import type { Page } from "playwright-core";
import sharp from "sharp";
import { assert, assertEquals } from "./support/assert.ts";
import { CHROMIUM, chromiumInstalled } from "../scripts/chromium.ts";
import { startPlayground } from "../scripts/playground.ts";

const hasChromium = await chromiumInstalled();
if (!hasChromium) console.log(`plugin e2e skipped: ${CHROMIUM} is not installed`);
const root = new URL("..", import.meta.url).pathname;
const shots = `${root}test-results`;

/** Replaces the editor's text (as a paste would). */
async function setCode(page: Page, code: string): Promise<void> {
  await page.click(".cm-content");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(code);
}

const done = (page: Page) =>
  page.waitForFunction(
    () => /^done/.test(document.getElementById("status-message")?.textContent ?? ""),
    undefined,
    { timeout: 120_000 },
  );
const preview = (page: Page) =>
  page.evaluate(() => {
    const c = document.getElementById("preview") as HTMLCanvasElement;
    return Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data);
  });

Deno.test({
  name:
    "playground plugins: write, run, share, reopen, run again, download the recipe; hostile code contained",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await Deno.mkdir(shots, { recursive: true });
    // Every request the server sees: the sandbox must never reach it.
    const seen: string[] = [];
    const playground = await startPlayground({
      onRequest: (req) => seen.push(new URL(req.url).pathname),
    });
    const { tmp, origin, browser } = playground;
    const errors: string[] = [];
    try {
      const context = await browser.newContext({
        viewport: { width: 1200, height: 900 },
        acceptDownloads: true,
      });
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => document.getElementById("playground-props") !== null);
      await page.setInputFiles("#content-file", `${root}examples/cat.jpg`);
      await page.setInputFiles("#style-file", `${root}examples/kandinsky.jpg`);
      await page.waitForSelector(".styles li");
      for (const [id, value] of [["#size", "64"], ["#iterations", "10"], ["#scales", "1"]]) {
        await page.fill(id, value);
        await page.dispatchEvent(id, "change");
      }
      await page.selectOption("#network", "tiny");
      await page.selectOption("#backend", "wasm");

      // 1. Write a plugin: the editor loads when its panel opens; "Tint" from the examples.
      await page.click("#plugin-title");
      await page.waitForSelector(".cm-editor");
      await page.selectOption("#plugin-example", "1");
      await page.click("#plugin-use");
      await page.waitForSelector("#plugin-loaded");
      assert((await page.textContent("#plugin-loaded"))!.includes("tint"));
      const legends = await page.locator(".cost legend").allTextContents();
      assert(legends.includes("tint"), `a cost card for the plugin: ${legends}`);
      await page.screenshot({ path: `${shots}/plugin_1_editor.png`, fullPage: true });

      // 2. Run: its term is in the progress.
      await page.click("#start");
      await done(page);
      const terms = await page.textContent("#status-terms");
      assert(terms!.includes("tint"), `terms: ${terms}`);
      const result = await preview(page);

      // 3. Share, and open the link in a fresh context.
      await page.click("#share");
      await page.waitForFunction(() =>
        (document.getElementById("share-url") as HTMLInputElement | null)?.value
      );
      const link = await page.inputValue("#share-url");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.click("#download-recipe"),
      ]);
      const recipePath = `${tmp}/recipe.json`;
      await download.saveAs(recipePath);

      const other = await (await browser.newContext({ viewport: { width: 1200, height: 900 } }))
        .newPage();
      other.on("pageerror", (e) => errors.push(e.message));
      await other.goto(link);
      await other.waitForFunction(() =>
        /shared result/.test(document.getElementById("status-message")?.textContent ?? "")
      );
      await other.waitForSelector(".cm-editor");
      const code = await other.textContent(".cm-content");
      assert(code!.includes("export const tint"), "the plugin's code is back in the editor");
      assert((await other.locator(".cost legend").allTextContents()).includes("tint"));
      assertEquals(await other.inputValue("#size"), "64");
      assertEquals(await preview(other), result, "the stored result is shown");
      await other.click("#start");
      await done(other);
      assertEquals(await preview(other), result, "running again reproduces the result");
      await other.screenshot({ path: `${shots}/plugin_2_reopened.png`, fullPage: true });

      // 4. The downloaded recipe runs in the CLI unchanged, on the shared images.
      const recipe = JSON.parse(await Deno.readTextFile(recipePath));
      assertEquals(recipe.sources[0].name, "plugin.ts");
      const share = await (await fetch(`${origin}/api/shares/${link.split("/s/")[1]}`)).json();
      const imageFile = async (sha: string, name: string) => {
        const path = `${tmp}/${name}`;
        await Deno.writeFile(
          path,
          new Uint8Array(await (await fetch(`${origin}/api/images/${sha}`)).arrayBuffer()),
        );
        return path;
      };
      const cli = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${root}cli.ts`,
          await imageFile(share.content, "content.png"),
          await imageFile(share.styles[0], "style.png"),
          "--recipe",
          recipePath,
          "-o",
          `${tmp}/cli.png`,
          "--json",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(cli.stdout);
      assert(cli.success, new TextDecoder().decode(cli.stderr));
      const last = out.trim().split("\n").map((l) => JSON.parse(l)).find((e) => e.event === "done");
      assert("tint" in last.terms, JSON.stringify(last));
      // The same picture as the browser's, from the same images, seed and backend.
      const cliPixels = await sharp(`${tmp}/cli.png`).ensureAlpha().raw().toBuffer();
      let worst = 0;
      for (let i = 0; i < result.length; i++) {
        worst = Math.max(worst, Math.abs(result[i] - cliPixels[i]));
      }
      console.log(`CLI vs browser: largest pixel difference ${worst}/255`);
      assertEquals(cliPixels.length, result.length);
      assert(worst <= 2, `the CLI's picture differs from the browser's by up to ${worst}/255`);

      // 5. Hostile code: each is stopped, and the sandbox never reaches the server.
      const before = seen.length;
      const plugin = (body: string) =>
        `import { definePlugin, reduceSum, add } from "stylegram";\n${body}\n` +
        `export const evil = definePlugin({ name: "evil", description: "", options: {}, ` +
        `layers: () => ["image"], cost: ({ features }) => reduceSum(features("image")) });\n`;
      const asyncCost = (line: string) =>
        `import { definePlugin, reduceSum } from "stylegram";\n` +
        `export const evil = definePlugin({ name: "evil", description: "", options: {}, ` +
        `layers: () => ["image"], cost: async ({ features }) => { ${line}; return reduceSum(features("image")); } });\n`;
      const hostile: [string, string, "load" | "run", RegExp][] = [
        [
          "a syntax error",
          `import { definePlugin } from "stylegram";\n\nexport const x = ;\n`,
          "load",
          /line 3/,
        ],
        [
          "a shape error",
          asyncCost("").replace(
            'return reduceSum(features("image"));',
            'return reduceSum(matmul(features("image"), features("image")));',
          ).replace(
            "import { definePlugin, reduceSum }",
            "import { definePlugin, matmul, reduceSum }",
          ),
          "run",
          /line 2: matmul/,
        ],
        [
          "a cost that is not a tensor",
          asyncCost("").replace('return reduceSum(features("image"));', "return 42;"),
          "run",
          /line 2: cost returned a number, not a tensor expression/,
        ],
        ["an endless loop", plugin("while (true) {}"), "load", /ran for over 5 s and was stopped/],
        ["document", plugin("document.title = 'x';"), "load", /document is not defined/],
        [
          "localStorage",
          plugin("localStorage.setItem('a', 'b');"),
          "load",
          /localStorage is not defined/,
        ],
        [
          "indexedDB",
          plugin("indexedDB.open('x');"),
          "load",
          /SecurityError|denied|not allowed|indexedDB/i,
        ],
        [
          "importScripts",
          plugin(`importScripts("${origin}/evil.js");`),
          "load",
          /importScripts|not a function|Module scripts/i,
        ],
        [
          "fetch",
          asyncCost(`await fetch("${origin}/probe")`),
          "run",
          /fetch|Content Security Policy|Refused/i,
        ],
        [
          "importing a URL",
          asyncCost(`await import("${origin}/evil.js")`),
          "run",
          /import|Content Security Policy|Refused|Failed/i,
        ],
        [
          "importing a URL past the transpiler",
          asyncCost(`await eval('import("${origin}/evil.js")')`),
          "run",
          /import|Content Security Policy|Refused|Failed|eval/i,
        ],
        [
          "a worker of its own",
          plugin("new Worker('data:text/javascript,for(;;){}');"),
          "load",
          /Worker is not a constructor|not a function|undefined/i,
        ],
        [
          "work left running in the background",
          plugin("setTimeout(() => { for (;;) {} }, 0);"),
          "run",
          /kept the sandbox busy|ran for over 5 s|stopped/,
        ],
        [
          "a huge graph",
          asyncCost(
            `let x = features("image"); for (let i = 0; i < 1e6; i++) x = add(x, 1); return reduceSum(x)`,
          )
            .replace(
              "import { definePlugin, reduceSum }",
              "import { add, definePlugin, reduceSum }",
            ),
          "run",
          /the graph is too big: over 20000 operations/,
        ],
      ];
      const answers = () => page.getAttribute("#plugin-actions", "data-answers").then(Number);
      for (const [what, code, when, expected] of hostile) {
        await setCode(page, code);
        const before = await answers();
        await page.click("#plugin-use");
        await page.waitForFunction(
          (n) => Number(document.getElementById("plugin-actions")?.dataset.answers) > n,
          before,
          { timeout: 20_000 },
        );
        if (when === "load") {
          const problem = await page.textContent("#plugin-problem");
          assert(expected.test(problem!), `${what}: ${problem}`);
          if (what === "a syntax error") {
            // Shown at its line in the editor too.
            await page.waitForSelector(".cm-lintRange-error");
          }
        } else {
          assert(await page.isVisible("#plugin-loaded"), `${what}: the module loads`);
          await page.click("#start");
          await page.waitForFunction(
            () => document.querySelector("#status-message.error") !== null,
            undefined,
            { timeout: 60_000 },
          );
          const message = await page.textContent("#status-message");
          assert(expected.test(message!), `${what}: ${message}`);
          if (what === "a shape error" || what === "a cost that is not a tensor") {
            // Marked at its line in the editor, too.
            await page.waitForSelector("#plugin-problem");
            await page.waitForSelector(".cm-lintRange-error");
          }
        }
      }
      const reached = seen.slice(before).filter((p) => p === "/probe" || p === "/evil.js");
      assertEquals(reached, [], "no request from the sandbox reached the server");
      await page.screenshot({ path: `${shots}/plugin_3_hostile.png`, fullPage: true });
      assertEquals(errors, []);
    } finally {
      await playground.stop();
    }
  },
});
