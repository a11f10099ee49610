/**
 * The objective compiler: network + plugins + weights + image size → one ONNX
 * graph whose outputs are each plugin's cost, the weighted total, and the
 * gradient of the total with respect to the pixels.
 *
 * Targets come first (`reference_targets.ts`). An image too large for one
 * evaluation goes in windows (`tiling/tiled_objective.ts`).
 *
 * @module
 */

import {
  addN,
  constant,
  grad,
  input,
  mul,
  type OnnxGraph,
  type Tensor,
  toOnnx,
} from "./graph/mod.ts";
import type { TilePlan } from "./tiling/plan.ts";
import type { WindowedOptions } from "./tiling/windowed.ts";
import { tiledObjective } from "./tiling/tiled_objective.ts";
import { createSession, type Session, type SessionOptions } from "./runtime/mod.ts";
import type { FeatureNetwork } from "./network/mod.ts";
import type { RgbImage } from "./image.ts";
import {
  inPluginAsync,
  isReferenceName,
  type NetworkInfo,
  pluginLayers,
  type PluginUse,
} from "./plugin.ts";
import { OptionError } from "./options.ts";
import {
  checkMaskCount,
  checkSourceCovers,
  type Guidance,
  type Mask,
  regionWeights,
  resizeMask,
  styleRegions,
} from "./guidance.ts";
import {
  blendTargets,
  computeTargets,
  maskReaders,
  type OutputReference,
  outputReferences,
  planFor,
  safeName,
  type TargetSet,
} from "./reference_targets.ts";
import {
  checkedStatistics,
  costExpression,
  featureReader,
  noFeatures,
  noMaskInCost,
  noReference,
} from "./plugin_calls.ts";

/** A style image and its blend weight. */
export interface StyleReference {
  /** The image (any size; resized per the plugin's style scale). */
  readonly image: RgbImage;
  /** Its share of the style (weights are normalised to sum to 1). */
  readonly weight: number;
}

/** What to compile. */
export interface ObjectiveSpec {
  /** The feature network. */
  readonly network: FeatureNetwork;
  /** Pooling for the network's swappable pools (VGG: max or avg). */
  readonly pooling?: "max" | "avg";
  /** The cost terms. */
  readonly plugins: readonly PluginUse[];
  /** The generated image's size. */
  readonly size: { readonly width: number; readonly height: number };
  /** The content image (resized to `size`), for plugins whose reference is `content`. */
  readonly content?: RgbImage;
  /** The style images, for plugins whose reference is `style`. */
  readonly styles?: readonly StyleReference[];
  /**
   * Other images of the output's size (resized to `size`) by name, for
   * plugins whose reference names them (e.g. `previous` for a video frame).
   */
  readonly references?: Readonly<Record<string, OutputReference>>;
  /** Masks: which style goes where, which part of each style image, content weight. */
  readonly guidance?: Guidance;
  /**
   * Evaluate in windows of this interior side with this halo (pixels), when
   * the image is larger than one window. Every plugin must have
   * `statistics`; otherwise the objective runs untiled and says so.
   */
  readonly tiles?: {
    readonly interior: number;
    readonly halo: number;
    /**
     * Compute the content image's features in each window again instead of
     * keeping them over the whole image (less memory, more time).
     */
    readonly recomputeReferences?: boolean;
  };
}

/** One evaluation of the objective. */
export interface Evaluation {
  /** Each plugin's cost (unweighted), by term label. */
  readonly terms: Readonly<Record<string, number>>;
  /** Σ weight · cost. */
  readonly total: number;
  /** ∂total/∂pixels, planar like the image. */
  readonly gradient: Float32Array;
}

/** A compiled objective, ready to evaluate many times. */
export interface Objective {
  /** Term labels, in plugin order (`style`, `content`, `tv`; repeated names get `_2`, `_3`). */
  readonly terms: readonly string[];
  /** The image size it takes. */
  readonly size: { readonly width: number; readonly height: number };
  /** The session it runs on. */
  readonly session: Session;
  /** The compiled graph (for inspection: node count, initializer bytes). */
  readonly graph: OnnxGraph;
  /** The expressions it was compiled from (targets embedded as constants). */
  readonly expressions: {
    readonly image: Tensor;
    readonly costs: readonly Tensor[];
    readonly total: Tensor;
    readonly gradient: Tensor;
  };
  /** The windows it evaluates in (absent: the whole image at once). */
  readonly plan?: TilePlan;
  /** Costs and gradient at `pixels` (planar RGB in [0, 1], 3·W·H values). */
  evaluate(pixels: Float32Array, options?: WindowedOptions): Promise<Evaluation>;
  /** Frees the session. */
  release(): Promise<void>;
}

/** What a plugin may know of a feature network. */
export function networkInfo(network: FeatureNetwork): NetworkInfo {
  const d = network.description;
  return { name: d.name, layers: network.layerNames, defaults: d.defaults };
}

function labels(uses: readonly PluginUse[]): string[] {
  const seen = new Map<string, number>();
  return uses.map((u) => {
    const n = (seen.get(u.plugin.name) ?? 0) + 1;
    seen.set(u.plugin.name, n);
    return n === 1 ? u.plugin.name : `${u.plugin.name}_${n}`;
  });
}

function checkSpec(spec: ObjectiveSpec): void {
  const { width, height } = spec.size;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`objective: image size ${width}×${height} must be positive integers`);
  }
  if (spec.plugins.length === 0) throw new OptionError("objective: no cost plugins given");
  for (const [name, ref] of Object.entries(spec.references ?? {})) {
    if (name === "content" || name === "style" || !isReferenceName(name)) {
      throw new OptionError(
        `reference image "${name}": name it with lowercase letters, digits, - or _, other than ` +
          `content and style (those have their own inputs)`,
      );
    }
    if (ref.image.width !== width || ref.image.height !== height) {
      throw new OptionError(
        `reference image "${name}" is ${ref.image.width}×${ref.image.height}; it must have the ` +
          `output's size, ${width}×${height}`,
      );
    }
  }
  const refs = outputReferences(spec);
  for (const use of spec.plugins) {
    const kind = use.plugin.spec.reference;
    if (kind === "content" && !spec.content) {
      throw new OptionError(`plugin ${use.plugin.name} needs a content image`);
    }
    if (kind && kind !== "content" && kind !== "style" && !refs.has(kind)) {
      throw new OptionError(
        `plugin ${use.plugin.name} needs the reference image "${kind}", which the run does not give`,
      );
    }
    if (kind === "style" && !spec.styles?.length) {
      throw new OptionError(
        `plugin ${use.plugin.name} needs at least one style image (the style list is empty)`,
      );
    }
  }
  for (const [i, s] of (spec.styles ?? []).entries()) {
    if (typeof s.weight !== "number" || !Number.isFinite(s.weight) || s.weight < 0) {
      throw new OptionError(
        `style image ${i + 1}: blend weight must be a number ≥ 0, got ${s.weight}`,
      );
    }
  }
  if (spec.styles?.length && !spec.styles.some((s) => s.weight > 0)) {
    throw new OptionError("style images: at least one blend weight must be above 0");
  }
  const sources = spec.guidance?.styleSources ?? [];
  checkMaskCount(sources, spec.styles?.length ?? 0, "style source masks");
  sources.forEach((m, i) => m && checkSourceCovers(m, i));
}

/**
 * Compiles the objective and loads it on a backend.
 *
 * @example
 * ```ts
 * import { compileObjective, FeatureNetwork, randomWeights, rgbImage, TINY, tv } from "../mod.ts";
 * const network = new FeatureNetwork(TINY, randomWeights(TINY, 1));
 * const objective = await compileObjective({
 *   network,
 *   plugins: [tv.use({}, 1)],
 *   size: { width: 16, height: 16 },
 * }, { backend: "wasm" });
 * const { total, gradient } = await objective.evaluate(rgbImage(16, 16).data);
 * ```
 */
export async function compileObjective(
  spec: ObjectiveSpec,
  options: SessionOptions = {},
): Promise<Objective> {
  checkSpec(spec);
  const info = networkInfo(spec.network);
  const layersOf = spec.plugins.map((use) => pluginLayers(use, info));
  // Every session of this objective runs where the first one landed; the
  // choice is announced once.
  let sessionOptions = options;
  const open = async (g: OnnxGraph) => {
    const s = await createSession(g, sessionOptions);
    sessionOptions = { ...options, backend: s.backend, onNotice: undefined };
    return s;
  };
  const { width, height } = spec.size;
  // The mask of each image of the output's size (the content mask, …), at that size.
  const referenceMasks = new Map(
    [...outputReferences(spec)].map(([n, r]) => [n, r.mask && resizeMask(r.mask, spec.size)]),
  );
  const regions = styleRegions(spec.guidance?.styles, spec.styles?.length ?? 0, spec.size);
  const strength = regions && regionWeights(regions, spec.styles!.map((s) => s.weight));
  const untileable = spec.plugins.filter((u) => !u.plugin.spec.statistics);
  const plan = planFor(spec, layersOf.flat(), spec.size);
  if (plan && untileable.length) {
    options.onNotice?.(
      `plugin ${untileable[0].plugin.name} has no statistics(), so it cannot be evaluated in ` +
        `tiles: the whole ${width}×${height} image is evaluated at once (more memory)`,
    );
  }
  const tiled = plan && !untileable.length ? plan : undefined;
  // Content features are recomputed per window only where the objective itself is tiled.
  const targetSpec = spec.tiles?.recomputeReferences && !tiled
    ? { ...spec, tiles: { ...spec.tiles, recomputeReferences: false } }
    : spec;
  const targets = await computeTargets(
    targetSpec,
    info,
    layersOf,
    open,
    referenceMasks,
  );
  const image = input("image", [1, 3, height, width]);
  const read = featureReader(spec.network, image, layersOf.flat(), { pooling: spec.pooling });
  const maskOf = maskReaders(spec, layersOf.flat(), (l) => read(l).shape);
  const shapeOf = (l: string) => read(l).shape;
  const names = labels(spec.plugins);
  /** One cost of a plugin: targets from one reference (or their blend) over one region. */
  type Part = { index: number; set: TargetSet; mask?: Mask; factor?: number };
  const partsOf: Part[][] = [];
  const consts = (index: number, set: TargetSet) =>
    Object.fromEntries(
      Object.entries(set.arrays).map((
        [k, a],
      ) => [k, constant(a.data, a.shape, { name: `target_${index}_${k}` })]),
    );
  // The plugin's cost over the whole image in one graph; `onMask` hears of mask reads.
  const wholeCost = async (part: Part, onMask: () => void): Promise<Tensor> => {
    const use = spec.plugins[part.index];
    const reader = maskOf(part.mask);
    const mask = (l: string) => {
      onMask();
      return reader?.(l);
    };
    const statsOf = use.plugin.spec.statistics;
    const statistics = statsOf
      ? checkedStatistics(
        use,
        await inPluginAsync(use, "statistics", () =>
          statsOf({
            features: read,
            mask,
            reference: (l) => {
              // Computed in each window: a stand-in here (this graph is not run).
              if (part.set.referencePixels) return input(`reference_${safeName(l)}`, read(l).shape);
              const r = part.set.references?.get(l);
              if (!r) return noReference();
              return constant(r.data, r.shape, { name: `reference_${safeName(l)}` });
            },
            network: info,
          }, use.options)),
      )
      : {};
    return await costExpression(use, {
      features: statsOf ? noFeatures : read,
      targets: consts(part.index, part.set),
      mask: statsOf ? noMaskInCost : mask,
      statistics,
      shape: shapeOf,
      network: info,
    });
  };
  const costs: Tensor[] = [];
  const weighted: Tensor[] = [];
  for (const [i, use] of spec.plugins.entries()) {
    const kind = use.plugin.spec.reference;
    const sets = targets.get(i) ?? [{ arrays: {}, weight: 1, source: 0 }];
    let readsMask = false;
    const heard = () => readsMask = true;
    const unguided = (): Part[] => {
      const mask = kind && kind !== "style" ? referenceMasks.get(kind) : undefined;
      if (use.plugin.spec.blend === "costs") {
        return sets.map((set) => ({ index: i, set, mask, factor: set.weight }));
      }
      const set = {
        arrays: blendTargets(sets),
        weight: 1,
        source: 0,
        references: sets[0].references,
        referencePixels: sets[0].referencePixels,
      };
      return [{ index: i, set, mask }];
    };
    // With style masks: one cost per style image over its own region,
    // weighted so each covered pixel gets the style at full strength. A
    // plugin that ignores masks keeps its unguided blend and strength.
    let parts = unguided();
    let first: Tensor | undefined;
    if (kind === "style" && regions && strength) {
      const inside = sets.filter((s) => strength[s.source] > 0);
      if (!inside.length) {
        throw new OptionError("every style mask is empty (all black): no style would be applied");
      }
      const guided = inside.map((set) => ({
        index: i,
        set,
        mask: regions[set.source],
        factor: strength[set.source],
      }));
      first = await wholeCost(guided[0], heard);
      if (readsMask) parts = guided;
      else first = undefined;
    }
    partsOf.push(parts);
    const built: Tensor[] = [];
    for (const [k, part] of parts.entries()) {
      built.push(k === 0 && first ? first : await wholeCost(part, heard));
    }
    const cost = addN(
      built.map((c, k) => parts[k].factor === undefined ? c : mul(c, parts[k].factor!)),
    );
    const guided = kind === "style" ? regions : kind && referenceMasks.get(kind);
    if (guided && !readsMask) {
      options.onNotice?.(
        `plugin ${use.plugin.name} does not read masks: its cost ignores the ${kind} masks`,
      );
    }
    costs.push(cost);
    weighted.push(use.weight === 1 ? cost : mul(cost, use.weight));
  }
  const total = addN(weighted);
  const expressions = () => {
    const [gradient] = grad(total, [image]);
    return { image, costs, total, gradient };
  };
  if (tiled) {
    // The images are done with (their targets are made): not kept.
    return await tiledObjective({
      ...spec,
      content: undefined,
      styles: undefined,
      references: undefined,
    }, {
      plan: tiled,
      parts: partsOf,
      names,
      layers: layersOf.flat(),
      info,
      open,
      consts,
      shapeOf,
      expressions,
    });
  }
  const { gradient } = expressions();
  const outputs = Object.fromEntries(costs.map((c, i) => [`cost_${i}`, c]));
  const graph = toOnnx({ ...outputs, total, gradient }, { name: "objective" });
  const session = await open(graph);

  return {
    terms: names,
    size: { width, height },
    session,
    graph,
    expressions: { image, costs, total, gradient },
    async evaluate(pixels) {
      const out = await session.run({ image: pixels });
      const terms: Record<string, number> = {};
      names.forEach((n, i) => terms[n] = out[`cost_${i}`][0]);
      return { terms, total: out.total[0], gradient: out.gradient };
    },
    release: () => session.release(),
  };
}
