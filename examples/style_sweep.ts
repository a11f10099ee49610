/**
 * Style sweep: the same photo with more and more style, one PNG per frame —
 * from "a photo with a hint of Kandinsky" to "a Kandinsky that remembers a
 * cat". Stitch the frames into a video or a GIF.
 *
 *     deno run -A examples/style_sweep.ts
 *     deno run -A examples/style_sweep.ts photo.jpg painting.jpg --frames 24 --from 1 --to 1000
 *     ffmpeg -framerate 8 -i style_sweep/frame_%03d.png style_sweep.mp4
 *
 * The style weight is spaced logarithmically (each frame multiplies it by the
 * same factor), because the picture changes with the *ratio* of style to
 * content, not with their difference. Each frame starts from the previous
 * one, so the sequence moves smoothly instead of flickering between unrelated
 * local optima.
 *
 * Options: --frames N (8), --from W (0.3), --to W (300), --size PX (256),
 * --iterations N per frame (40), --network NAME (auto), --backend NAME (auto),
 * --seed N (0), --out DIR (style_sweep).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  type BackendChoice,
  content,
  loadNetwork,
  type RgbImage,
  style,
  stylize,
  tv,
} from "../mod.ts";
import { ensureRuntimeDir, FileStore, readImage, writeImage } from "../io.ts";

ensureRuntimeDir(); // keeps the Vulkan loader quiet if "auto" looks for a GPU (native missing)

// ---- 1. What to render -----------------------------------------------------

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    frames: { type: "string", default: "8" },
    from: { type: "string", default: "0.3" },
    to: { type: "string", default: "300" },
    size: { type: "string", default: "256" },
    iterations: { type: "string", default: "40" },
    network: { type: "string", default: "auto" },
    backend: { type: "string", default: "auto" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: "style_sweep" },
  },
});
// The example images sit next to this script, so it runs from any directory.
const contentPath = positionals[0] ?? fileURLToPath(new URL("./cat.jpg", import.meta.url));
const stylePath = positionals[1] ?? fileURLToPath(new URL("./kandinsky.jpg", import.meta.url));
const frames = Number(values.frames);
const [from, to] = [Number(values.from), Number(values.to)];
if (!(Number.isInteger(frames) && frames >= 1 && from > 0 && to > 0)) {
  console.error("--frames must be a whole number ≥ 1, --from and --to numbers > 0");
  Deno.exit(2);
}

// ---- 2. Images and network (loaded once, reused by every frame) ------------

const photo = await readImage(contentPath);
const painting = await readImage(stylePath);
// "auto" is what the CLI does: VGG-19 if its weights are cached, else the offline InceptionV3.
const network = await loadNetwork(values.network, {
  store: new FileStore(),
  seed: Number(values.seed),
  onNotice: (message) => console.log(message),
});
await Deno.mkdir(values.out, { recursive: true });

// ---- 3. The sweep ----------------------------------------------------------

let previous: RgbImage | undefined;
let backend = values.backend as BackendChoice;
for (let k = 0; k < frames; k++) {
  const t = frames === 1 ? 0 : k / (frames - 1);
  const styleWeight = from * (to / from) ** t; // log-spaced from `from` to `to`
  const started = performance.now();
  const result = await stylize({
    network,
    // The default recipe's cost terms, with this frame's style weight.
    plugins: [
      content.use({ normalisation: "size" }, 1),
      style.use({}, styleWeight),
      tv.use({ normalisation: "mean" }, 1),
    ],
    content: photo,
    styles: [painting],
    initImage: previous,
    settings: {
      size: Number(values.size),
      iterations: Number(values.iterations),
      scales: 1, // a frame continues at full size from the last one: no coarse pass
      // First frame: the photo itself (no noise), so the sweep starts at the photo.
      init: previous ? "image" : "content",
      noise: 0,
      seed: Number(values.seed),
      backend,
      previewEvery: 0,
    },
  }, { onNotice: previous ? undefined : (message) => console.log(message) });
  previous = result.image;
  backend = result.backend as BackendChoice; // choose once, not once per frame
  const file = join(values.out, `frame_${String(k).padStart(3, "0")}.png`);
  await writeImage(result.image, file);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `frame ${k + 1}/${frames}: style weight ${styleWeight.toPrecision(3)} → ${file} (${seconds} s)`,
  );
}
