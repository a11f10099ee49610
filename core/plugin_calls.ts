/**
 * Calling a plugin's functions for the core: the stand-ins for what a
 * plugin with statistics may not read, and checks of what its `cost`,
 * `targets` and `statistics` return, with messages naming the plugin.
 *
 * @module
 */

import { formatShape, reshape, Tensor } from "./graph/mod.ts";
import { type CostContext, inPluginAsync, type PluginUse } from "./plugin.ts";
import { OptionError } from "./options.ts";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What a plugin with statistics gets for `features` outside `statistics()`. */
export const noFeatures = (layer: string): never => {
  throw new OptionError(
    `a plugin with statistics reads features only in statistics() (asked for "${layer}")`,
  );
};

/** What a plugin with statistics gets for `mask` in `cost`. */
export const noMaskInCost = (): never => {
  throw new OptionError("a plugin with statistics reads masks only in statistics()");
};

/** Runs a plugin's cost and checks that it is a scalar expression. */
export async function costExpression(use: PluginUse, ctx: CostContext): Promise<Tensor> {
  const c = await inPluginAsync(use, "cost", () => use.plugin.spec.cost(ctx, use.options));
  if (!(c instanceof Tensor)) {
    throw new OptionError(
      `plugin ${use.plugin.name}: cost must be a tensor expression, got ${typeof c}`,
    );
  }
  if (c.size !== 1) {
    throw new OptionError(
      `plugin ${use.plugin.name}: cost must be a scalar, got shape ${formatShape(c.shape)}`,
    );
  }
  return reshape(c, []);
}

/** Checks what `targets` returned: an object of tensors with identifier names. */
export function checkedTargets(use: PluginUse, targets: unknown): Record<string, Tensor> {
  if (typeof targets !== "object" || targets === null) {
    throw new OptionError(`plugin ${use.plugin.name}: targets must return an object of tensors`);
  }
  for (const [key, t] of Object.entries(targets)) {
    if (!(t instanceof Tensor)) {
      throw new OptionError(
        `plugin ${use.plugin.name}: target "${key}" must be a tensor expression, got ${typeof t}`,
      );
    }
    if (!IDENT.test(key)) {
      throw new OptionError(
        `plugin ${use.plugin.name}: target name "${key}" must be an identifier`,
      );
    }
  }
  return targets as Record<string, Tensor>;
}

/** Checks what `statistics` returned: an object of tensors with identifier names. */
export function checkedStatistics(use: PluginUse, out: unknown): Record<string, Tensor> {
  if (typeof out !== "object" || out === null) {
    throw new OptionError(`plugin ${use.plugin.name}: statistics must return an object of tensors`);
  }
  for (const [k, t] of Object.entries(out)) {
    if (!(t instanceof Tensor)) {
      throw new OptionError(
        `plugin ${use.plugin.name}: statistic "${k}" must be a tensor expression, got ${typeof t}`,
      );
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw new OptionError(
        `plugin ${use.plugin.name}: statistic name "${k}" must be an identifier`,
      );
    }
  }
  return out as Record<string, Tensor>;
}
