/**
 * A cost plugin of your own, defined right here and run with the built-in
 * content, style and total-variation costs: "palette", which pulls every
 * pixel towards the nearest colour of a small palette — a screen-print or
 * poster look that a painting's style alone does not give.
 *
 *     deno run -A examples/custom_plugin.ts
 *     deno run -A examples/custom_plugin.ts photo.jpg painting.jpg --palette sunset --weight 3
 *
 * The plugin is forward math only (distances, a softmax, a mean); stylegram
 * differentiates it and compiles it into the same graph as the network. See
 * docs/plugins.md for the parts of a plugin.
 *
 * Options: --palette NAME (ocean; or ink, pop, sunset), --weight W (6),
 * --softness T (0.1), --size PX (256), --iterations N (100),
 * --network NAME (auto), --backend NAME (auto), --seed N (0),
 * --out DIR (custom_plugin).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  type BackendChoice,
  choiceOption,
  constant,
  content,
  definePlugin,
  loadNetwork,
  mul,
  numberOption,
  reduceMean,
  reduceSum,
  reshape,
  softmax,
  square,
  style,
  stylize,
  sub,
  transpose,
  tv,
} from "../mod.ts";
import { ensureRuntimeDir, FileStore, readImage, writeImage } from "../io.ts";

ensureRuntimeDir(); // keeps the Vulkan loader quiet if "auto" looks for a GPU (native missing)

// ---- 1. The plugin ---------------------------------------------------------

/** Palettes by name, as sRGB hex colours. Add your own. */
const PALETTES = {
  sunset: ["#2b1d3a", "#b8336a", "#f08a4b", "#f7d774", "#fdf3e1"],
  ink: ["#14141c", "#2f4a7a", "#e9e2d0"],
  ocean: ["#0b2545", "#13406e", "#5b8bb5", "#b8d3e6", "#f4f1e8"],
  pop: ["#111111", "#f5f5f5", "#e63946", "#1d4e89", "#f4c430"],
};
type PaletteName = keyof typeof PALETTES;

/** `#rrggbb` → [r, g, b] in [0, 1]. */
const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);

const palette = definePlugin({
  name: "palette",
  description: "pulls each pixel towards the nearest colour of a palette",
  options: {
    palette: choiceOption(Object.keys(PALETTES) as PaletteName[], {
      default: "ocean",
      description: "which palette",
    }),
    softness: numberOption({
      default: 0.1,
      min: 0.001,
      max: 1,
      description: "how softly a pixel picks its nearest colour (squared RGB distance)",
    }),
  },
  layers: () => ["image"], // raw pixels, no network features
  cost: ({ features }, options) => {
    const colours = PALETTES[options.palette].map(rgb);
    const k = colours.length;
    const image = features("image"); // [1, 3, H, W]
    const n = image.shape[2] * image.shape[3];
    // Squared distance from every pixel to every palette colour: [n, k].
    const pixels = reshape(transpose(reshape(image, [3, n])), [n, 1, 3]);
    const table = constant(colours.flat(), [1, k, 3]);
    const distance = reduceSum(square(sub(pixels, table)), { axes: [2] });
    // "Nearest" made smooth: a softmax over colours weights each distance, so
    // a pixel is pulled mostly towards its closest colour, and the gradient
    // exists everywhere (a hard minimum would jump between colours).
    const nearest = softmax(mul(distance, -1 / options.softness), 1);
    return reduceMean(reduceSum(mul(nearest, distance), { axes: [1] }));
  },
});

// ---- 2. What to render -----------------------------------------------------

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    palette: { type: "string", default: "ocean" },
    weight: { type: "string", default: "6" },
    softness: { type: "string", default: "0.1" },
    size: { type: "string", default: "256" },
    iterations: { type: "string", default: "100" },
    network: { type: "string", default: "auto" },
    backend: { type: "string", default: "auto" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: "custom_plugin" },
  },
});
// The example images sit next to this script, so it runs from any directory.
const contentPath = positionals[0] ?? fileURLToPath(new URL("./cat.jpg", import.meta.url));
const stylePath = positionals[1] ?? fileURLToPath(new URL("./kandinsky.jpg", import.meta.url));

// The plugin checks its own options: a bad --palette gets a message listing the palettes.
const plugins = [
  content.use({ normalisation: "size" }, 1),
  style.use({}, 40),
  tv.use({ normalisation: "mean" }, 1),
  palette.use(
    { palette: values.palette, softness: Number(values.softness) },
    Number(values.weight),
  ),
];

// ---- 3. Run it ---------------------------------------------------------------

const network = await loadNetwork(values.network, {
  store: new FileStore(),
  seed: Number(values.seed),
  onNotice: (message) => console.log(message),
});
const result = await stylize({
  network,
  plugins,
  content: await readImage(contentPath),
  styles: [await readImage(stylePath)],
  settings: {
    size: Number(values.size),
    iterations: Number(values.iterations),
    scales: 1,
    seed: Number(values.seed),
    backend: values.backend as BackendChoice,
    previewEvery: 0,
  },
}, { onNotice: (message) => console.log(message) });

await Deno.mkdir(values.out, { recursive: true });
const file = join(values.out, `palette_${values.palette}.png`);
await writeImage(result.image, file);
const terms = Object.entries(result.terms).map(([name, v]) => `${name} ${v.toPrecision(3)}`);
console.log(`wrote ${file}; final costs: ${terms.join(", ")}`);
