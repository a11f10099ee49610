/**
 * The page's check of a recipe before a run: the schema's own, with its
 * browser limits — the same call the share server makes — so the page and
 * the server refuse exactly the same recipes, in the same words.
 *
 * @module
 */

import { OptionError, parseRecipe, type Plugin } from "../../mod.ts";

/**
 * Why `recipe` cannot run in a browser — the message of the same check the
 * share server makes — or `undefined` when it can.
 */
export function recipeProblem(
  recipe: unknown,
  plugins: ReadonlyMap<string, Plugin>,
): string | undefined {
  try {
    parseRecipe(recipe, plugins, { browser: true });
    return undefined;
  } catch (e) {
    if (e instanceof OptionError) return e.message;
    throw e;
  }
}
