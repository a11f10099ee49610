/**
 * The playground's run in tiles, in headless Chromium: with the tiny
 * network at 1536 px and a 1 GB budget the tab's run goes in tiles; the
 * status line counts the tiles of both passes, the finished tiles are
 * outlined over the preview while a pass runs (and only then), and the run
 * ends with the image.
 */

import { assert } from "./support/assert.ts";
import { CHROMIUM, chromiumInstalled } from "../scripts/chromium.ts";
import { startPlayground } from "../scripts/playground.ts";
import sharp from "sharp";

const hasChromium = await chromiumInstalled();
if (!hasChromium) {
  console.log(`web tiles e2e skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
}

const root = new URL("..", import.meta.url).pathname;
const shots = `${root}test-results`;

/** A dark image: the outlines' near-white pixels cannot come from it. */
async function darkImage(path: string, width: number, height: number, seed: number) {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = 20 + (s % 40);
  }
  await sharp(data, { raw: { width, height, channels: 3 } }).png().toFile(path);
}

Deno.test({
  name:
    "playground: a run in tiles counts its tiles and outlines the finished ones over the preview",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await Deno.mkdir(shots, { recursive: true });
    const playground = await startPlayground();
    const { tmp, origin, browser } = playground;
    try {
      await darkImage(`${tmp}/content.png`, 1536, 1024, 1);
      await darkImage(`${tmp}/style.png`, 256, 256, 2);
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => document.getElementById("playground-props") !== null);
      await page.setInputFiles("#content-file", `${tmp}/content.png`);
      await page.setInputFiles("#style-file", `${tmp}/style.png`);
      await page.waitForSelector(".styles li");
      await page.selectOption("#network", "tiny");
      const set = async (id: string, value: string) => {
        await page.fill(id, value);
        await page.dispatchEvent(id, "change");
      };
      await set("#size", "1536");
      await set("#iterations", "3");
      await set("#scales", "1");
      // No noise in the start: the image stays dark, so near-white pixels are outlines.
      await set("#noise", "0");
      await page.click("details.more summary");
      await set("#preview-every", "1");
      await page.selectOption("#max-memory", "1GB");
      await page.selectOption("#backend", "wasm");
      // Record every status line, and whether the preview shows outlines with it.
      await page.evaluate(() => {
        const seen: { status: string; outlined: number }[] = [];
        (globalThis as unknown as { tileSeen: typeof seen }).tileSeen = seen;
        const sample = () => {
          const status = document.getElementById("status-line")?.textContent ?? "";
          const c = document.getElementById("preview") as HTMLCanvasElement;
          let outlined = 0;
          if (c.width > 256) {
            const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
            for (let i = 0; i < d.length; i += 4) {
              if (d[i] >= 190 && d[i + 1] >= 190 && d[i + 2] >= 190) outlined++;
            }
          }
          seen.push({ status, outlined });
        };
        new MutationObserver(sample).observe(document.getElementById("status-line")!, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
      await page.click("#start");
      await page.waitForFunction(
        () => /^done/.test(document.getElementById("status-message")?.textContent ?? ""),
        undefined,
        { timeout: 300_000 },
      );
      await page.screenshot({ path: `${shots}/playground_tiles.png` });
      const seen = await page.evaluate(() =>
        (globalThis as unknown as { tileSeen: { status: string; outlined: number }[] }).tileSeen
      );
      const tiles = seen.filter((s) => /tile \d+\/\d+/.test(s.status));
      const windows = Number(/tile \d+\/(\d+)/.exec(tiles[0]?.status ?? "")?.[1] ?? 0);
      assert(windows > 1, `the run went in tiles: ${seen.map((s) => s.status).join(" | ")}`);
      assert(tiles.some((s) => s.status.includes("(statistics)")), "pass 1 counted");
      assert(tiles.some((s) => s.status.includes("(gradient)")), "pass 2 counted");
      assert(
        tiles.some((s) => s.status.includes(`tile ${windows}/${windows}`)),
        "every tile of a pass counted",
      );
      assert(tiles.some((s) => s.outlined > 0), "finished tiles outlined over the preview");
      const after = seen.filter((s) => !/tile/.test(s.status) && /iteration 3\/3/.test(s.status));
      assert(after.length > 0 && after.every((s) => s.outlined === 0), "no outlines once done");
      assert(errors.length === 0, errors.join("\n"));
    } finally {
      await playground.stop();
    }
  },
});
