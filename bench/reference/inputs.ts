/**
 * Input bundles for the PyTorch reference: the pixels stylegram would feed
 * its objective, computed by stylegram's own code, so both tools see
 * identical inputs — the content image resized for every scale, each style
 * image at its reference size for every scale (the style plugin's `scale`
 * applied), and the starting image (the recipe's init with its seeded noise).
 * Only the reference's step between scales (resizing its own result) is
 * recomputed on the Python side, with the same filter.
 *
 *     deno run -A bench/reference/inputs.ts --content examples/cat.jpg \
 *       --style examples/kandinsky.jpg --recipe r.json --out bundle.safetensors
 *
 * The bundle is a safetensors file: `init` [1, 3, h0, w0], `content_sK`,
 * `styleJ_sK` for scale K and style image J, `content_full`, and the metadata
 * key `bundle` holding JSON (`scales`, `styles`, `styleSizes`, `recipe`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  BUILTIN_PLUGINS,
  parseRecipe,
  type PluginUse,
  type Recipe,
  type RgbImage,
} from "../../mod.ts";
import { fitLongSide, resizeImage } from "../../core/image.ts";
import { uniform } from "../../core/random.ts";
import { outputSize, scaleSizes } from "../../core/stylize.ts";
import { readImage } from "../../io.ts";
import { encodeSafetensors, type F32Tensor } from "./safetensors_write.ts";

/** Options of {@linkcode referenceInputs}. */
export interface InputOptions {
  /** The network's smallest side (its description's `minSize`). */
  networkMinSize: number;
}

/** The pixels of a run, per scale. */
export interface ReferenceInputs {
  /** The recipe, defaults filled in. */
  recipe: Recipe;
  /** Width and height of every scale, coarse to fine. */
  scales: { width: number; height: number }[];
  /** The starting image at the first scale. */
  init: RgbImage;
  /** The content image at every scale. */
  content: RgbImage[];
  /** `styles[j][k]`: style image j at its reference size for scale k. */
  styles: RgbImage[][];
}

/** The style plugins' reference scale (all style plugins must agree). */
function styleScale(uses: readonly PluginUse[]): number {
  const scales = new Set(
    uses.filter((u) => u.plugin.spec.reference === "style").map((u) =>
      u.plugin.spec.referenceScale?.(u.options) ?? 1
    ),
  );
  if (scales.size > 1) throw new RangeError("inputs: style plugins with different scales");
  return [...scales][0] ?? 1;
}

/** The starting image of core/stylize.ts (init content / noise / gray, plus the seeded noise share). */
function startImage(recipe: Recipe, size: { width: number; height: number }, content?: RgbImage) {
  const n = 3 * size.width * size.height;
  const noise = () => uniform(n, recipe.seed, { lo: 0, hi: 1 });
  if (recipe.init === "noise") return { ...size, data: noise() };
  if (recipe.init === "image") throw new RangeError("inputs: init image is not supported");
  const base = recipe.init === "content" && content
    ? resizeImage(content, size).data
    : new Float32Array(n).fill(0.5);
  const a = recipe.noise;
  if (a === 0) return { ...size, data: Float32Array.from(base) };
  const r = noise();
  return { ...size, data: base.map((v, i) => (1 - a) * v + a * r[i]) };
}

/**
 * What stylegram feeds its objective for `recipeJson` (any recipe JSON the
 * CLI accepts), computed with its own sizing and resizing code.
 */
export function referenceInputs(
  recipeJson: Record<string, unknown>,
  images: { content?: RgbImage; styles: readonly RgbImage[] },
  options: InputOptions,
): ReferenceInputs {
  const { recipe, uses } = parseRecipe(recipeJson, BUILTIN_PLUGINS);
  const finalSize = outputSize(recipe, images.content);
  const sides = scaleSizes(recipe, options.networkMinSize);
  const scales = sides.map((side, k) =>
    k === sides.length - 1 ? finalSize : fitLongSide(finalSize, side)
  );
  const factor = styleScale(uses);
  const content = images.content ? scales.map((s) => resizeImage(images.content!, s)) : [];
  const styles = images.styles.map((style) =>
    scales.map((s) =>
      resizeImage(style, fitLongSide(style, Math.round(Math.max(s.width, s.height) * factor)))
    )
  );
  return { recipe, scales, init: startImage(recipe, scales[0], images.content), content, styles };
}

const tensor = (image: RgbImage): F32Tensor => ({
  shape: [1, 3, image.height, image.width],
  data: image.data,
});

/** The bundle file's bytes (see the module notes). */
export function encodeInputs(inputs: ReferenceInputs, contentFull?: RgbImage): Uint8Array {
  const tensors: Record<string, F32Tensor> = { init: tensor(inputs.init) };
  inputs.content.forEach((c, k) => tensors[`content_s${k}`] = tensor(c));
  inputs.styles.forEach((list, j) =>
    list.forEach((s, k) => tensors[`style${j}_s${k}`] = tensor(s))
  );
  if (contentFull) tensors.content_full = tensor(contentFull);
  const bundle = {
    scales: inputs.scales,
    styles: inputs.styles.length,
    styleSizes: inputs.styles.map((list) =>
      list.map((s) => ({ width: s.width, height: s.height }))
    ),
    recipe: inputs.recipe,
  };
  return encodeSafetensors(tensors, { bundle: JSON.stringify(bundle) });
}

/** Decodes image files as the CLI does, then writes the bundle to `out`; returns the inputs. */
export async function writeInputs(
  out: string,
  files: { content?: string; styles: readonly string[] },
  recipeJson: Record<string, unknown>,
  options: InputOptions,
): Promise<ReferenceInputs> {
  const content = files.content ? await readImage(files.content) : undefined;
  const styles = await Promise.all(files.styles.map((p) => readImage(p)));
  const inputs = referenceInputs(recipeJson, { content, styles }, options);
  await Deno.writeFile(out, encodeInputs(inputs, content));
  return inputs;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      content: { type: "string" },
      style: { type: "string", multiple: true, default: [] },
      recipe: { type: "string" },
      "min-size": { type: "string", default: "27" },
      out: { type: "string", default: "bundle.safetensors" },
    },
  });
  const recipe = values.recipe ? JSON.parse(await Deno.readTextFile(values.recipe)) : {};
  const inputs = await writeInputs(
    values.out,
    { content: values.content, styles: values.style },
    recipe,
    { networkMinSize: Number(values["min-size"]) },
  );
  console.log(
    `wrote ${values.out}: scales ${inputs.scales.map((s) => `${s.width}×${s.height}`).join(", ")}`,
  );
}
