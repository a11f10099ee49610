/**
 * Texture synthesis: a new image made only of a painting's brushwork and
 * colours, at any size and shape — no photo involved. Handy for backgrounds,
 * wallpapers, or as a starting image for another run.
 *
 *     deno run -A examples/texture.ts
 *     deno run -A examples/texture.ts painting.jpg --size 768 --aspect 0.5 --scale 1.5
 *
 * There is no content image, so the cost is the style cost alone (plus a
 * little smoothing), starting from seeded noise: a different --seed gives a
 * different texture of the same kind. Give several paintings to mix them.
 *
 * Options: --size PX, longer side (384), --aspect W/H (2), --scale S, the
 * size of the painting's features relative to the output (1; larger means
 * bigger strokes), --iterations N per scale (100), --network NAME (auto),
 * --backend NAME (auto), --seed N (0), --out DIR (texture).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { basename, extname, join } from "node:path";
import { type BackendChoice, loadNetwork, style, stylize, tv } from "../mod.ts";
import { ensureRuntimeDir, FileStore, readImage, writeImage } from "../io.ts";

ensureRuntimeDir(); // keeps the Vulkan loader quiet if "auto" looks for a GPU (native missing)

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    size: { type: "string", default: "384" },
    aspect: { type: "string", default: "2" },
    scale: { type: "string", default: "1" },
    iterations: { type: "string", default: "100" },
    network: { type: "string", default: "auto" },
    backend: { type: "string", default: "auto" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: "texture" },
  },
});
// The example image sits next to this script, so it runs from any directory.
const paintings = positionals.length
  ? positionals
  : [fileURLToPath(new URL("./great_wave.jpg", import.meta.url))];

const network = await loadNetwork(values.network, {
  store: new FileStore(),
  seed: Number(values.seed),
  onNotice: (message) => console.log(message),
});
const result = await stylize({
  network,
  // No content cost: only "look like the painting", and a little smoothness.
  plugins: [style.use({ scale: Number(values.scale) }, 40), tv.use({ normalisation: "mean" }, 1)],
  styles: await Promise.all(paintings.map((p) => readImage(p))),
  settings: {
    size: Number(values.size),
    aspect: Number(values.aspect), // width/height: without a photo, the shape is ours to choose
    iterations: Number(values.iterations),
    // Coarse to fine (from 256 px, when the output is bigger): big shapes first, then detail.
    minSize: 256,
    init: "noise",
    seed: Number(values.seed),
    backend: values.backend as BackendChoice,
    previewEvery: 0,
  },
}, {
  onNotice: (message) => console.log(message),
  onProgress: (e) => {
    if (e.type === "scale") console.log(`scale ${e.scale}/${e.scales}: ${e.width}×${e.height}`);
  },
});

await Deno.mkdir(values.out, { recursive: true });
const name = paintings.map((p) => basename(p, extname(p))).join("+");
const file = join(values.out, `texture_${name}_seed${values.seed}.png`);
await writeImage(result.image, file);
console.log(`wrote ${file} (${result.image.width}×${result.image.height})`);
