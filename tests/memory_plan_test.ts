/**
 * Memory budgets: reading sizes, counting a window's activations, choosing
 * tiles and L-BFGS pairs under a budget, refusing one that cannot work with
 * the smallest that can; and a budgeted stylisation: tiles as progress,
 * cancellation between tiles, the same picture as untiled, and no seams.
 */

import { type RgbImage, rgbImage } from "../core/image.ts";
import { stylize } from "../core/stylize.ts";
import { style } from "../plugins/style.ts";
import { content } from "../plugins/content.ts";
import { tv } from "../plugins/tv.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { vggDescription } from "../core/network/vgg.ts";
import { layersNeeded } from "../core/network/description.ts";
import { input } from "../core/graph/mod.ts";
import {
  activationBytes,
  chooseTiles,
  formatBytes,
  parseBytes,
  receptiveHalo,
  weightBytes,
  windowBytes,
} from "../core/tiling/budget.ts";
import {
  featureBytes,
  memoryPlan,
  RUNTIME_BYTES,
  SESSION_WEIGHT_FACTOR,
  TILED_SESSIONS,
} from "../core/tiling/memory_plan.ts";
import { OptionError } from "../core/options.ts";
import { uniform } from "../core/random.ts";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";

Deno.test("memory sizes read as people write them; anything else is refused", () => {
  assertEquals(parseBytes("2GB"), 2e9);
  assertEquals(parseBytes("512MB"), 512e6);
  assertEquals(parseBytes("1.5 G"), 1.5e9);
  assertEquals(parseBytes("800m"), 800e6);
  assertEquals(parseBytes("4096"), 4096);
  assertEquals(parseBytes("2GiB"), 2 * 1024 ** 3);
  assertEquals(parseBytes("auto"), undefined);
  for (const bad of ["lots", "", "1XB", "-1GB", "2 GB extra"]) {
    assert(assertThrows(() => parseBytes(bad), "is not a memory size") instanceof OptionError);
  }
  assertEquals(formatBytes(2e9), "2 GB");
  assertEquals(formatBytes(1.46e9), "1.5 GB");
  assertEquals(formatBytes(660e6), "660 MB");
});

Deno.test("a window's activations are the sum of every layer's channels × positions", () => {
  const vgg = vggDescription("vgg19");
  const net = new FeatureNetwork(vgg, randomWeights(vgg, 1));
  const layers = ["relu1_1", "relu3_1", "relu4_2"];
  const size = { height: 70, width: 53 };
  const needed = layersNeeded(vgg, layers).map((l) => l.name);
  const features = net.features(input("x", [1, 3, size.height, size.width]), needed);
  const plain = 3 * size.height * size.width +
    needed.reduce((a, l) => a + features[l].size, 0);
  assertEquals(activationBytes(vgg, layers, size), 4 * plain);
});

Deno.test("tiles: none when the image fits, else the largest interior whose windows fit", () => {
  const layers = ["relu1", "conv3"];
  const size = { width: 200, height: 150 };
  const whole = windowBytes(TINY, layers, { height: 150, width: 200 });
  assertEquals(chooseTiles(TINY, layers, size, { bytes: whole, padding: 0 }), undefined);
  const halo = receptiveHalo(TINY, layers);
  assertEquals(halo, 12); // radius 8.5 px, stride 4
  const bytes = whole / 4;
  const tiles = chooseTiles(TINY, layers, size, { bytes, padding: 0 })!;
  const side = (i: number) => i + 2 * halo;
  assert(
    windowBytes(TINY, layers, { height: side(tiles.interior), width: side(tiles.interior) }) <=
      bytes,
  );
  const next = tiles.interior + 4;
  assert(
    windowBytes(TINY, layers, {
      height: Math.min(150, side(next)),
      width: Math.min(200, side(next)),
    }) > bytes,
    `interior ${next} would also fit`,
  );
  assertThrows(
    () => chooseTiles(TINY, layers, size, { bytes: 1000, padding: 0 }),
    "too small",
  );
});

const settings = { optimizer: "lbfgs", history: 10, average: 0, maxMemory: "x" };
const sessionsOf = (layers: string[]) =>
  TILED_SESSIONS * SESSION_WEIGHT_FACTOR * weightBytes(vggDescription("vgg19"), layers);
const vgg = vggDescription("vgg19");
const vggLayers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1", "relu4_2"];

Deno.test("a tight budget cuts L-BFGS pairs, then falls back to Adam; too tight names what works", () => {
  const size = { width: 4096, height: 4096 };
  const vector = 12 * size.width * size.height;
  const roomy = memoryPlan(vgg, vggLayers, { size, settings, bytes: 64e9, referenceLayers: [] });
  assertEquals(roomy.history, 10);
  assertEquals(roomy.optimizer, "lbfgs");
  const tight = memoryPlan(vgg, vggLayers, {
    size,
    settings,
    bytes: RUNTIME_BYTES + sessionsOf(vggLayers) + 14 * vector + 2e9,
    referenceLayers: [],
  });
  assert(tight.history < 10 && tight.history >= 1, `history ${tight.history}`);
  assert(tight.tiles, "tiles expected");
  assert(tight.notice?.includes(`L-BFGS history ${tight.history} instead of 10`), tight.notice);
  const adam = memoryPlan(vgg, vggLayers, {
    size,
    settings,
    bytes: RUNTIME_BYTES + sessionsOf(vggLayers) + 9.5 * vector + 0.3e9,
    referenceLayers: [],
  });
  assertEquals(adam.optimizer, "adam");
  const e = assertThrows(
    () => memoryPlan(vgg, vggLayers, { size, settings, bytes: 1e9, referenceLayers: [] }),
    "max memory 1 GB is too small for network vgg19 at 4096×4096: the smallest budget that works is",
  );
  // The budget it names works.
  const named = /works is ([\d.]+ [MG]B)/.exec(e.message)![1];
  const plan = memoryPlan(vgg, vggLayers, {
    size,
    settings,
    bytes: parseBytes(named.replace(" ", ""))!,
    referenceLayers: [],
  });
  assert(plan.tiles);
});

// ------------------------------------------------------------ a budgeted run

const tiny = new FeatureNetwork(TINY, randomWeights(TINY, 3));
const noise = (w: number, h: number, seed: number): RgbImage =>
  rgbImage(w, h, uniform(3 * w * h, seed, { lo: 0, hi: 1 }));
const runInput = {
  network: tiny,
  plugins: [style.use({}, 10), content.use({}, 1), tv.use({ normalisation: "mean" }, 0.1)],
  content: noise(96, 72, 1),
  styles: [noise(64, 64, 2)],
};
const runSettings = {
  size: 96,
  scales: 1,
  iterations: 8,
  backend: "wasm" as const,
  init: "content" as const,
  noise: 0,
};
/** A budget that leaves room for windows of about `side` pixels. */
const budgetFor = (side: number) =>
  `${
    Math.round(
      RUNTIME_BYTES + 12 * 96 * 72 * 28 + 1000 +
        featureBytes(TINY, TINY.defaults.content.map((l) => l.layer), { width: 96, height: 72 }) +
        windowBytes(TINY, ["relu1", "relu2", "conv3"], { height: side, width: side }),
    )
  }`;

Deno.test("a budgeted run goes in tiles: the same picture as untiled, progress per tile, no seams", async () => {
  const whole = await stylize({ ...runInput, settings: runSettings });
  const events: { pass: number; done: number; windows: number }[] = [];
  const notices: string[] = [];
  const tiled = await stylize({
    ...runInput,
    settings: { ...runSettings, maxMemory: budgetFor(48) },
  }, {
    onProgress: (e) => e.type === "tile" && events.push(e),
    onNotice: (m) => notices.push(m),
  });
  assert(notices.some((n) => /tiles of \d+ px with a 12 px halo/.test(n)), notices.join("\n"));
  const windows = events[0].windows;
  assert(windows > 1, `windows ${windows}`);
  assert(events.some((e) => e.pass === 2 && e.done === windows));
  let diff = 0;
  for (let i = 0; i < whole.image.data.length; i++) {
    diff += Math.abs(whole.image.data[i] - tiled.image.data[i]);
  }
  const mean = diff / whole.image.data.length;
  console.log(
    `tiny, 96×72, ${windows} windows: mean |tiled − untiled| = ${(mean * 255).toFixed(4)}/255`,
  );
  assert(mean < 1e-3, `mean absolute difference ${mean}`);

  // Seams: neighbouring columns across an interior boundary differ no more
  // than neighbouring columns inside the tiles.
  const interior = Number(/tiles of (\d+) px/.exec(notices.join("\n"))![1]);
  const { width, height, data } = tiled.image;
  const boundaries = new Set<number>();
  for (let x = interior + 12; x < width; x += interior) boundaries.add(x - 1);
  let across = 0;
  let inside = 0;
  let nAcross = 0;
  let nInside = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x + 1 < width; x++) {
        const d = Math.abs(
          data[(c * height + y) * width + x + 1] - data[(c * height + y) * width + x],
        );
        if (boundaries.has(x)) (across += d, nAcross++);
        else (inside += d, nInside++);
      }
    }
  }
  assert(nAcross > 0);
  console.log(
    `mean gradient magnitude across tile boundaries ${(across / nAcross).toFixed(5)}, inside ${
      (inside / nInside).toFixed(5)
    }`,
  );
  assert(across / nAcross <= 1.1 * (inside / nInside), "a seam at the tile boundaries");
});

Deno.test("a budgeted run stops between tiles when cancelled", async () => {
  const controller = new AbortController();
  let tiles = 0;
  const run = stylize({
    ...runInput,
    settings: { ...runSettings, maxMemory: budgetFor(48) },
  }, {
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === "tile" && ++tiles === 3) controller.abort(new Error("stopped by the test"));
    },
  });
  let error: unknown;
  try {
    await run;
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error && error.message === "stopped by the test", String(error));
  assertEquals(tiles, 3);
});
