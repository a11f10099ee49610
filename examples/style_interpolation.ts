/**
 * Style interpolation: one photo morphing from one painting's style into
 * another's, one PNG per frame.
 *
 *     deno run -A examples/style_interpolation.ts
 *     deno run -A examples/style_interpolation.ts photo.jpg a.jpg b.jpg --frames 24
 *     ffmpeg -framerate 8 -i style_interpolation/frame_%03d.png morph.mp4
 *
 * Frame k of n blends the two styles with weights [1 − t, t], t = k/(n − 1):
 * the style cost then matches a Gram matrix that is that mix of the two
 * paintings' Gram matrices (`settings.styleWeights`). The first frame gets
 * three times the iterations from the usual noisy start; every later frame
 * continues from the one before, so the morph is smooth.
 *
 * Options: --frames N (7), --style-weight W (40), --size PX (256),
 * --iterations N per frame (40), --network NAME (auto), --backend NAME (auto),
 * --seed N (0), --out DIR (style_interpolation).
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
    frames: { type: "string", default: "7" },
    "style-weight": { type: "string", default: "40" },
    size: { type: "string", default: "256" },
    iterations: { type: "string", default: "40" },
    network: { type: "string", default: "auto" },
    backend: { type: "string", default: "auto" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: "style_interpolation" },
  },
});
// The example images sit next to this script, so it runs from any directory.
const example = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));
const contentPath = positionals[0] ?? example("cat.jpg");
const fromPath = positionals[1] ?? example("kandinsky.jpg");
const toPath = positionals[2] ?? example("great_wave.jpg");
const frames = Number(values.frames);
const iterations = Number(values.iterations);
if (!(Number.isInteger(frames) && frames >= 1)) {
  console.error("--frames must be a whole number ≥ 1");
  Deno.exit(2);
}

// ---- 2. Images and network (loaded once, reused by every frame) ------------

const photo = await readImage(contentPath);
const styles = [await readImage(fromPath), await readImage(toPath)];
// "auto" is what the CLI does: VGG-19 if its weights are cached, else the offline InceptionV3.
const network = await loadNetwork(values.network, {
  store: new FileStore(),
  seed: Number(values.seed),
  onNotice: (message) => console.log(message),
});
// The default recipe's cost terms; only the blend of the two styles changes.
const plugins = [
  content.use({ normalisation: "size" }, 1),
  style.use({}, Number(values["style-weight"])),
  tv.use({ normalisation: "mean" }, 1),
];
await Deno.mkdir(values.out, { recursive: true });

// ---- 3. The morph ----------------------------------------------------------

let previous: RgbImage | undefined;
let backend = values.backend as BackendChoice;
for (let k = 0; k < frames; k++) {
  const t = frames === 1 ? 0 : k / (frames - 1);
  const started = performance.now();
  const result = await stylize({
    network,
    plugins,
    content: photo,
    styles,
    initImage: previous,
    settings: {
      styleWeights: [1 - t, t],
      size: Number(values.size),
      scales: 1, // a frame continues at full size from the last one: no coarse pass
      // First frame: the CLI's start (the photo with seeded noise), given longer to settle.
      ...(previous
        ? { init: "image", noise: 0, iterations }
        : { init: "content", iterations: 3 * iterations }),
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
    `frame ${k + 1}/${frames}: ${Math.round(100 * (1 - t))}% / ${Math.round(100 * t)}% → ` +
      `${file} (${seconds} s)`,
  );
}
