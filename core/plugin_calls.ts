/**
 * Calling a plugin's functions for the core: the stand-ins for what a
 * plugin with statistics may not read, and checks of what its `cost`,
 * `targets` and `statistics` return, with messages naming the plugin.
 *
 * @module
 */

import { formatShape, reshape, Tensor } from "./graph/mod.ts";
import { type CostContext, IMAGE_LAYER, inPluginAsync, type PluginUse } from "./plugin.ts";
import type { FeatureNetwork } from "./network/feature_network.ts";
import { OptionError } from "./options.ts";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What a plugin with statistics gets for `features` outside `statistics()`. */
export const noFeatures = (layer: string): never => {
  throw new OptionError(
    `a plugin with statistics reads features only in statistics() (asked for "${layer}")`,
  );
};

/** What `reference` does for a plugin without an image of the output's size to read. */
export const noReference = (): never => {
  throw new OptionError(
    "reference() is for plugins whose reference is the content image or another image of the " +
      "output's size",
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

/** Options of {@linkcode featureReader}. */
export interface FeatureReaderOptions {
  /** Pooling for the network's swappable pools. */
  pooling?: "max" | "avg";
  /** Mirror padding before the network (default: the network's own); 0 for a window already padded. */
  inputPadding?: number;
  /** What the raw-pixel layer reads (default `image` itself; a window's crop of the image). */
  pixels?: Tensor;
}

/**
 * Features of `image` for every layer `layers` name ({@linkcode IMAGE_LAYER}
 * for the raw pixels); reading a layer that was not named is refused.
 */
export function featureReader(
  network: FeatureNetwork,
  image: Tensor,
  layers: readonly string[],
  options: FeatureReaderOptions = {},
): (layer: string) => Tensor {
  const netLayers = [...new Set(layers.filter((l) => l !== IMAGE_LAYER))];
  const features = network.features(image, netLayers, {
    pooling: options.pooling,
    inputPadding: options.inputPadding ?? network.description.inputPadding,
  });
  const pixels = options.pixels ?? image;
  return (layer) => {
    if (layer === IMAGE_LAYER) return pixels;
    const f = features[layer];
    if (!f) {
      throw new OptionError(
        `layer "${layer}" was read but not declared by the plugin's layers(); declare every layer it reads`,
      );
    }
    return f;
  };
}
