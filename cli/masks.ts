/**
 * Mask files on the command line: `--style-mask`, `--style-source-mask` and
 * `--content-mask`, or a recipe's `masks` (paths relative to the recipe
 * file). Flags replace the recipe's list of the same kind. `none` leaves a
 * style image without a mask.
 *
 * @module
 */

import { dirname, isAbsolute, join, relative } from "node:path";
import { type Guidance, type Mask, maskFromImage } from "../mod.ts";
import type { RecipeMasks } from "../core/recipe.ts";
import { readImage } from "../io.ts";
import { UsageError } from "./args.ts";

/** Where a mask file comes from and what it is, for messages. */
export interface MaskFile {
  /** `style mask 1`, `the content mask`, … */
  readonly label: string;
  /** The file's path (as the process sees it). */
  readonly path: string;
}

/** The mask files of a run: flags over the recipe's, recipe paths made relative to its file. */
export function maskFiles(
  recipeMasks: RecipeMasks | undefined,
  options: { flags: Record<string, unknown>; recipePath?: string },
): RecipeMasks {
  const base = options.recipePath ? dirname(options.recipePath) : ".";
  const fromRecipe = (p: string | null | undefined) =>
    p === null || p === undefined ? null : isAbsolute(p) ? p : join(base, p);
  const fromFlag = (p: string) => (p === "none" ? null : p);
  const list = (flag: string, key: "styles" | "styleSources") => {
    const given = options.flags[flag] as string[] | undefined;
    if (given?.length) return given.map(fromFlag);
    return recipeMasks?.[key]?.map(fromRecipe);
  };
  const content = options.flags["content-mask"] as string | undefined;
  const files: RecipeMasks = {};
  const styles = list("style-mask", "styles");
  const sources = list("style-source-mask", "styleSources");
  if (styles?.some((p) => p)) files.styles = styles;
  if (sources?.some((p) => p)) files.styleSources = sources;
  const c = content !== undefined ? fromFlag(content) : fromRecipe(recipeMasks?.content);
  if (c) files.content = c;
  return files;
}

/** Every mask file with its label (for the input guard and messages). */
export function listMaskFiles(files: RecipeMasks): MaskFile[] {
  return [
    ...(files.styles ?? []).flatMap((path, i) =>
      path ? [{ label: `the style mask of style image ${i + 1}`, path }] : []
    ),
    ...(files.styleSources ?? []).flatMap((path, i) =>
      path ? [{ label: `the source mask of style image ${i + 1}`, path }] : []
    ),
    ...(files.content ? [{ label: "the content mask", path: files.content }] : []),
  ];
}

/** Refuses more masks than style images, naming the flag. */
export function checkMaskCount(files: RecipeMasks, styleCount: number): void {
  for (
    const [key, flag] of [["styles", "--style-mask"], [
      "styleSources",
      "--style-source-mask",
    ]] as const
  ) {
    const n = files[key]?.length ?? 0;
    if (n > styleCount) {
      throw new UsageError(
        `${n} ${flag} files (or the recipe's masks.${key}) for ${styleCount} style image(s); ` +
          `give at most one per style image (in the style images' order, "none" to skip one)`,
      );
    }
  }
}

/** Reads the mask files (any image format; grey level = mask value); errors name the mask. */
export async function readMasks(
  files: RecipeMasks,
  options: { maxPixels?: number } = {},
): Promise<Omit<Guidance, "method">> {
  const labels = new Map(listMaskFiles(files).map((f) => [f.path, f.label]));
  const read = async (path: string | null | undefined): Promise<Mask | undefined> => {
    if (!path) return undefined;
    try {
      // Transparent is outside, as in the playground.
      return maskFromImage(await readImage(path, { ...options, background: "black" }));
    } catch (e) {
      if (e instanceof Error) e.message = `${labels.get(path)}: ${e.message}`;
      throw e;
    }
  };
  const list = (paths?: (string | null)[]) =>
    paths ? Promise.all(paths.map((p) => read(p))) : Promise.resolve(undefined);
  return {
    styles: await list(files.styles),
    styleSources: await list(files.styleSources),
    content: await read(files.content),
  };
}

/** The masks as a saved recipe names them: relative to the recipe's folder. */
export function recipeMaskPaths(files: RecipeMasks, recipePath: string): RecipeMasks | undefined {
  const base = dirname(recipePath);
  const rel = (p: string | null | undefined) => (p ? relative(base, p) : null);
  const out: RecipeMasks = {};
  if (files.styles) out.styles = files.styles.map(rel);
  if (files.styleSources) out.styleSources = files.styleSources.map(rel);
  if (files.content) out.content = rel(files.content);
  return Object.keys(out).length ? out : undefined;
}
