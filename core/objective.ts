/**
 * The objective compiler: network + plugins + weights + image size → one ONNX
 * graph whose outputs are each plugin's cost, the weighted total, and the
 * gradient of the total with respect to the pixels.
 *
 * Targets come first: every reference image (the content image, each style
 * image) goes once through a forward-only graph of the network and the
 * plugins' `targets`; the arrays that come back become constants of the
 * per-iteration graph.
 *
 * @module
 */

import {
  addN,
  constant,
  formatShape,
  grad,
  input,
  mul,
  type OnnxGraph,
  reshape,
  Tensor,
  toOnnx,
} from "./graph/mod.ts";
import { planTiles, type TilePlan } from "./tiling/plan.ts";
import {
  type Array32,
  checkedStatistics,
  constantOf,
  type StatisticsPart,
  windowedFeatures,
  type WindowedOptions,
  WindowedStatistics,
} from "./tiling/windowed.ts";
import { createSession, type Session, type SessionOptions } from "./runtime/mod.ts";
import type { FeatureNetwork } from "./network/mod.ts";
import { fitLongSide, resizeImage, type RgbImage } from "./image.ts";
import {
  type CostContext,
  IMAGE_LAYER,
  inPluginAsync,
  type NetworkInfo,
  pluginLayers,
  type PluginUse,
} from "./plugin.ts";
import { OptionError } from "./options.ts";
import {
  checkMaskCount,
  checkSourceCovers,
  type Guidance,
  layerMasks,
  type Mask,
  regionWeights,
  resizeMask,
  styleRegions,
} from "./guidance.ts";

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

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function networkInfo(network: FeatureNetwork): NetworkInfo {
  const d = network.description;
  return { name: d.name, layers: network.layerNames, defaults: d.defaults };
}

/** Features of `image` for every layer `uses` read (`image` itself for the raw-pixel layer). */
function featureReader(
  network: FeatureNetwork,
  image: Tensor,
  layers: readonly string[],
  pooling: "max" | "avg" | undefined,
): (layer: string) => Tensor {
  const netLayers = [...new Set(layers.filter((l) => l !== IMAGE_LAYER))];
  const features = network.features(image, netLayers, {
    pooling,
    inputPadding: network.description.inputPadding,
  });
  return (layer) => {
    if (layer === IMAGE_LAYER) return image;
    const f = features[layer];
    if (!f) {
      throw new OptionError(
        `layer "${layer}" was read but not declared by the plugin's layers(); declare every layer it reads`,
      );
    }
    return f;
  };
}

function labels(uses: readonly PluginUse[]): string[] {
  const seen = new Map<string, number>();
  return uses.map((u) => {
    const n = (seen.get(u.plugin.name) ?? 0) + 1;
    seen.set(u.plugin.name, n);
    return n === 1 ? u.plugin.name : `${u.plugin.name}_${n}`;
  });
}

interface ReferenceJob {
  image: RgbImage;
  mask?: Mask;
  uses: { index: number; use: PluginUse }[];
}

/** Targets of one plugin from one reference image: `source` is the style image's index. */
interface TargetSet {
  arrays: Record<string, Array32>;
  weight: number;
  source: number;
  /** The content image's features by layer, for a statistics plugin's `reference()`. */
  references?: Map<string, Array32>;
  /** Or the content image, when its features are computed in each window. */
  referencePixels?: Float32Array;
}

/** A mask reader per mask, over the layers every plugin reads. */
type MaskReaders = (mask: Mask | undefined) => ((layer: string) => Tensor) | undefined;

function maskReaders(
  spec: ObjectiveSpec,
  layers: readonly string[],
  shapeOf: (layer: string) => readonly number[],
): MaskReaders {
  const readers = new Map<Mask, (layer: string) => Tensor>();
  return (mask) => {
    if (!mask) return undefined;
    let reader = readers.get(mask);
    if (!reader) {
      reader = layerMasks(spec.network, mask, {
        method: spec.guidance?.method ?? "receptive",
        inputPadding: spec.network.description.inputPadding,
        layers,
        shapeOf,
      });
      readers.set(mask, reader);
    }
    return reader;
  };
}

const noFeatures = (layer: string): never => {
  throw new OptionError(
    `a plugin with statistics reads features only in statistics() (asked for "${layer}")`,
  );
};

const safeName = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");

/** The mirror padding the network applies to an image of this size. */
function paddingFor(network: FeatureNetwork, size: { width: number; height: number }): number {
  return Math.min(network.description.inputPadding ?? 0, Math.min(size.width, size.height) - 1);
}

/** A plan over an image, when tiles are asked for and it takes more than one window. */
function planFor(
  spec: ObjectiveSpec,
  layers: readonly string[],
  size: { width: number; height: number },
): TilePlan | undefined {
  if (!spec.tiles) return undefined;
  const plan = planTiles(spec.network.description, layers, size, {
    ...spec.tiles,
    padding: paddingFor(spec.network, size),
  });
  return plan.windows.length > 1 ? plan : undefined;
}

/** Runs a graph once on one feed, then frees its session. */
async function runOnce(
  open: (graph: OnnxGraph) => Promise<Session>,
  graph: OnnxGraph,
  feeds: Record<string, Float32Array>,
): Promise<Record<string, Float32Array>> {
  const session = await open(graph);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** A mask carried to every layer, as arrays over the whole image. */
async function layerMaskArrays(
  spec: ObjectiveSpec,
  mask: Mask,
  layers: readonly string[],
  shapeOf: (layer: string) => readonly number[],
  open: (graph: OnnxGraph) => Promise<Session>,
): Promise<Map<string, Array32>> {
  const reader = maskReaders(spec, layers, shapeOf)(mask)!;
  const wanted = [...new Set(layers)];
  const outputs = Object.fromEntries(wanted.map((l) => [`m_${safeName(l)}`, reader(l)]));
  const values = await runOnce(open, toOnnx(outputs, { name: "layer_masks" }), {});
  return new Map(
    wanted.map((
      l,
    ) => [l, { data: values[`m_${safeName(l)}`], shape: outputs[`m_${safeName(l)}`].shape }]),
  );
}

/** The layers a statistics plugin reads through `reference()` (found by building it once). */
async function referenceLayers(
  use: PluginUse,
  read: (layer: string) => Tensor,
  info: NetworkInfo,
): Promise<string[]> {
  const layers = new Set<string>();
  await inPluginAsync(use, "statistics", () =>
    use.plugin.spec.statistics!({
      features: read,
      mask: () => undefined,
      reference: (l) => (layers.add(l), read(l)),
      network: info,
    }, use.options));
  return [...layers];
}

/** Targets of a statistics plugin from the reference's statistics (its own `targets`, or them). */
async function targetsFromStatistics(
  use: PluginUse,
  statistics: Record<string, Tensor>,
  info: NetworkInfo,
  mask: (layer: string) => Tensor | undefined,
): Promise<Record<string, Tensor>> {
  const spec = use.plugin.spec;
  if (!spec.targets) return statistics;
  return await inPluginAsync(
    use,
    "targets",
    () => spec.targets!({ features: noFeatures, mask, statistics, network: info }, use.options),
  );
}

/** Runs the targets of every plugin on every reference image; returns arrays per plugin per image. */
async function computeTargets(
  spec: ObjectiveSpec,
  info: NetworkInfo,
  layersOf: readonly (readonly string[])[],
  open: (graph: OnnxGraph) => Promise<Session>,
  contentMask: Mask | undefined,
): Promise<Map<number, TargetSet[]>> {
  const out = new Map<number, TargetSet[]>();
  // Group by the exact reference pixels fed (an image at one size), so one
  // forward pass serves every plugin that reads it.
  const jobs = new Map<string, ReferenceJob & { weight: number; key: string; n: number }>();
  const sources: { image: RgbImage; weight: number; kind: "content" | "style"; n: number }[] = [
    ...(spec.content ? [{ image: spec.content, weight: 1, kind: "content" as const, n: 0 }] : []),
    ...(spec.styles ?? []).map((s, n) => ({
      image: s.image,
      weight: s.weight,
      kind: "style" as const,
      n,
    })),
  ];
  const total = (spec.styles ?? []).reduce((a, s) => a + s.weight, 0);
  spec.plugins.forEach((use, index) => {
    const kind = use.plugin.spec.reference;
    if (!kind) return;
    for (const src of sources.filter((s) => s.kind === kind)) {
      const size = kind === "content" ? spec.size : fitLongSide(
        src.image,
        Math.round(
          Math.max(spec.size.width, spec.size.height) *
            (use.plugin.spec.referenceScale?.(use.options) ?? 1),
        ),
      );
      const key = `${kind}${src.n}@${size.width}x${size.height}`;
      let job = jobs.get(key);
      if (!job) {
        const source = kind === "style" ? spec.guidance?.styleSources?.[src.n] : undefined;
        jobs.set(
          key,
          job = {
            key,
            n: src.n,
            image: resizeImage(src.image, size),
            mask: kind === "content" ? contentMask : source && resizeMask(source, size),
            uses: [],
            weight: kind === "style" ? src.weight / total : 1,
          },
        );
      }
      job.uses.push({ index, use });
    }
  });

  for (const job of jobs.values()) {
    const { width, height } = job.image;
    const image = input("reference", [1, 3, height, width]);
    const layers = job.uses.flatMap(({ index }) => layersOf[index]);
    const read = featureReader(spec.network, image, layers, spec.pooling);
    const mask = maskReaders(spec, layers, (l) => read(l).shape)(job.mask);
    const isContent = job.key.startsWith("content");
    const statsUses = job.uses.filter(({ use }) => use.plugin.spec.statistics);
    const refLayers: string[] = [];
    for (const { use } of isContent ? statsUses : []) {
      for (const l of await referenceLayers(use, read, info)) {
        if (!refLayers.includes(l)) refLayers.push(l);
      }
    }
    const plan = statsUses.length === job.uses.length
      ? planFor(spec, layers, job.image)
      : undefined;
    if (plan) {
      await tiledTargets(spec, { job, plan, layers, refLayers, info, open, out });
      continue;
    }
    const outputs: Record<string, Tensor> = {};
    for (const l of refLayers) outputs[`r_${safeName(l)}`] = read(l);
    for (const { index, use } of job.uses) {
      let targets: unknown;
      if (use.plugin.spec.statistics) {
        if (isContent && !use.plugin.spec.targets) continue;
        const statistics = checkedStatistics(
          use,
          await inPluginAsync(use, "statistics", () =>
            use.plugin.spec.statistics!({
              features: read,
              mask: (l) => mask?.(l),
              reference: isContent ? read : () => {
                throw new OptionError(
                  "reference() is for plugins whose reference is the content image",
                );
              },
              network: info,
            }, use.options)),
        );
        targets = await targetsFromStatistics(use, statistics, info, (l) => mask?.(l));
      } else {
        targets = await inPluginAsync(
          use,
          "targets",
          () =>
            use.plugin.spec.targets!(
              { features: read, mask: (l) => mask?.(l), statistics: {}, network: info },
              use.options,
            ),
        );
      }
      for (const [key, t] of Object.entries(checkedTargets(use, targets))) {
        outputs[`t${index}_${key}`] = t;
      }
    }
    // Targets may be empty (a plugin that reads its reference's mask only).
    const values = Object.keys(outputs).length
      ? await runOnce(open, toOnnx(outputs, { name: `targets_${job.key}` }), {
        reference: job.image.data,
      })
      : {};
    const references = new Map(
      refLayers.map((l) => [l, { data: values[`r_${safeName(l)}`], shape: read(l).shape }]),
    );
    for (const { index } of job.uses) {
      const prefix = `t${index}_`;
      const arrays: Record<string, Array32> = {};
      for (const [name, t] of Object.entries(outputs)) {
        if (name.startsWith(prefix)) {
          arrays[name.slice(prefix.length)] = { data: values[name], shape: [...t.shape] };
        }
      }
      const list = out.get(index) ?? [];
      list.push({ arrays, weight: job.weight, source: job.n, references });
      out.set(index, list);
    }
  }
  return out;
}

/** Checks what `targets` returned: an object of tensors with identifier names. */
function checkedTargets(use: PluginUse, targets: unknown): Record<string, Tensor> {
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

/** Targets of a reference image too large for one window: its statistics window by window. */
async function tiledTargets(
  spec: ObjectiveSpec,
  ctx: {
    job: ReferenceJob & { weight: number; key: string; n: number };
    plan: TilePlan;
    layers: readonly string[];
    refLayers: readonly string[];
    info: NetworkInfo;
    open: (graph: OnnxGraph) => Promise<Session>;
    out: Map<number, TargetSet[]>;
  },
): Promise<void> {
  const { job, plan, info, open, out } = ctx;
  const recompute = spec.tiles?.recomputeReferences === true && ctx.refLayers.length > 0;
  const referencePixels = recompute ? job.image.data : undefined;
  const references = ctx.refLayers.length && !recompute
    ? await windowedFeatures(spec.network, plan, {
      pixels: job.image.data,
      layers: ctx.refLayers,
      pooling: spec.pooling,
      open,
    })
    : new Map<string, Array32>();
  const isContent = job.key.startsWith("content");
  const uses = job.uses.filter(({ use }) => !isContent || use.plugin.spec.targets);
  const shapeOf = (l: string) => {
    const g = plan.grids.get(l);
    return g ? [1, 1, g.rows.size, g.columns.size] : [1, 1, job.image.height, job.image.width];
  };
  const mask = job.mask &&
    await layerMaskArrays(spec, job.mask, ctx.layers, shapeOf, open);
  const windowed = new WindowedStatistics(spec.network, plan, {
    parts: uses.map(({ use }) => ({
      use,
      mask,
      reference: !isContent
        ? undefined
        : referencePixels
        ? { pixels: referencePixels }
        : references,
    })),
    layers: ctx.layers,
    pooling: spec.pooling,
    info,
    open,
  });
  const sums = uses.length ? await windowed.statistics(job.image.data) : new Map();
  await windowed.release();
  for (const [p, { index, use }] of uses.entries()) {
    const statistics: Record<string, Tensor> = {};
    for (const [name, a] of sums) {
      if (name.startsWith(`s${p}_`)) statistics[name.slice(`s${p}_`.length)] = constantOf(a);
    }
    const maskOf = (l: string) => {
      const m = mask?.get(l);
      return m && constantOf(m);
    };
    const targets = checkedTargets(
      use,
      await targetsFromStatistics(use, statistics, info, maskOf),
    );
    const names = Object.keys(targets);
    const values = names.length
      ? await runOnce(
        open,
        toOnnx(Object.fromEntries(names.map((k) => [`t_${k}`, targets[k]])), {
          name: `targets_${job.key}_${index}`,
        }),
        {},
      )
      : {};
    const arrays = Object.fromEntries(
      names.map((k) => [k, { data: values[`t_${k}`], shape: [...targets[k].shape] }]),
    );
    const list = out.get(index) ?? [];
    list.push({ arrays, weight: job.weight, source: job.n, references, referencePixels });
    out.set(index, list);
  }
  for (const { index } of job.uses.filter((u) => !uses.includes(u))) {
    const list = out.get(index) ?? [];
    list.push({ arrays: {}, weight: job.weight, source: job.n, references, referencePixels });
    out.set(index, list);
  }
}

/** The weighted mean of several target sets with the same keys and shapes. */
function blendTargets(sets: TargetSet[]): Record<string, Array32> {
  if (sets.length === 1) return sets[0].arrays;
  const blended: Record<string, Array32> = {};
  for (const [key, first] of Object.entries(sets[0].arrays)) {
    const data = new Float32Array(first.data.length);
    for (const set of sets) {
      const a = set.arrays[key];
      if (!a || a.data.length !== data.length) {
        throw new OptionError(
          `target "${key}" differs in shape between style images; use blend "costs" for such a plugin`,
        );
      }
      for (let i = 0; i < data.length; i++) data[i] += set.weight * a.data[i];
    }
    blended[key] = { data, shape: first.shape };
  }
  return blended;
}

function checkSpec(spec: ObjectiveSpec): void {
  const { width, height } = spec.size;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`objective: image size ${width}×${height} must be positive integers`);
  }
  if (spec.plugins.length === 0) throw new OptionError("objective: no cost plugins given");
  for (const use of spec.plugins) {
    const kind = use.plugin.spec.reference;
    if (kind === "content" && !spec.content) {
      throw new OptionError(`plugin ${use.plugin.name} needs a content image`);
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
  const contentMask = spec.guidance?.content && resizeMask(spec.guidance.content, spec.size);
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
    contentMask,
  );
  const image = input("image", [1, 3, height, width]);
  const read = featureReader(spec.network, image, layersOf.flat(), spec.pooling);
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
              if (!r) {
                throw new OptionError(
                  "reference() is for plugins whose reference is the content image",
                );
              }
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
      const mask = kind === "content" ? contentMask : undefined;
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
    const guided = (kind === "style" && regions) || (kind === "content" && contentMask);
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
    return await tiledObjective({ ...spec, content: undefined, styles: undefined }, {
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

const noMaskInCost = (): never => {
  throw new OptionError("a plugin with statistics reads masks only in statistics()");
};

/** Runs a plugin's cost and checks that it is a scalar expression. */
async function costExpression(use: PluginUse, ctx: CostContext): Promise<Tensor> {
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

/**
 * The objective evaluated in windows: statistics summed over windows, the
 * cost graph on their totals, and each window's backward with the
 * statistics' gradients.
 */
async function tiledObjective(
  spec: ObjectiveSpec,
  ctx: {
    plan: TilePlan;
    parts: readonly { index: number; set: TargetSet; mask?: Mask; factor?: number }[][];
    names: readonly string[];
    layers: readonly string[];
    info: NetworkInfo;
    open: (graph: OnnxGraph) => Promise<Session>;
    consts: (index: number, set: TargetSet) => Record<string, Tensor>;
    shapeOf: (layer: string) => readonly number[];
    expressions: () => Objective["expressions"];
  },
): Promise<Objective> {
  const { plan, open, info } = ctx;
  const flat = ctx.parts.flat();
  const maskArrays = new Map<Mask, Map<string, Array32>>();
  for (const part of flat) {
    if (part.mask && !maskArrays.has(part.mask)) {
      maskArrays.set(
        part.mask,
        await layerMaskArrays(spec, part.mask, ctx.layers, ctx.shapeOf, open),
      );
    }
  }
  const statisticsParts: StatisticsPart[] = flat.map((part) => ({
    use: spec.plugins[part.index],
    mask: part.mask && maskArrays.get(part.mask),
    reference: part.set.referencePixels
      ? { pixels: part.set.referencePixels }
      : part.set.references?.size
      ? part.set.references
      : undefined,
  }));
  const windowed = new WindowedStatistics(spec.network, plan, {
    parts: statisticsParts,
    layers: ctx.layers,
    pooling: spec.pooling,
    info,
    open,
  });
  // The cost graph: the statistics' totals in, costs and their gradients out.
  const shapes = await windowed.shapes();
  const statInputs = new Map([...shapes].map(([n, s]) => [n, input(n, s)]));
  const costs: Tensor[] = [];
  const weighted: Tensor[] = [];
  let p = 0;
  for (const [i, parts] of ctx.parts.entries()) {
    const use = spec.plugins[i];
    const built: Tensor[] = [];
    for (const part of parts) {
      const prefix = `s${p++}_`;
      const statistics = Object.fromEntries(
        [...statInputs].filter(([n]) => n.startsWith(prefix)).map((
          [n, t],
        ) => [n.slice(prefix.length), t]),
      );
      const c = await costExpression(use, {
        features: noFeatures,
        mask: noMaskInCost,
        targets: ctx.consts(i, part.set),
        statistics,
        shape: ctx.shapeOf,
        network: info,
      });
      built.push(part.factor === undefined ? c : mul(c, part.factor));
    }
    const cost = addN(built);
    costs.push(cost);
    weighted.push(use.weight === 1 ? cost : mul(cost, use.weight));
  }
  const total = addN(weighted);
  const inputs = [...statInputs.values()];
  const dStats = grad(total, inputs);
  const graph = toOnnx({
    ...Object.fromEntries(costs.map((c, i) => [`cost_${i}`, c])),
    total,
    ...Object.fromEntries([...statInputs.keys()].map((n, k) => [`d${n}`, dStats[k]])),
  }, { name: "objective_of_statistics" });
  const session = await open(graph);
  let expressions: Objective["expressions"] | undefined;
  return {
    terms: ctx.names,
    size: { ...spec.size },
    session,
    graph,
    plan,
    get expressions() {
      return expressions ??= ctx.expressions();
    },
    async evaluate(pixels, options = {}) {
      const sums = await windowed.statistics(pixels, options);
      const out = await session.run(Object.fromEntries([...sums].map(([n, a]) => [n, a.data])));
      const terms: Record<string, number> = {};
      ctx.names.forEach((n, i) => terms[n] = out[`cost_${i}`][0]);
      const d = new Map([...statInputs.keys()].map((n) => [n, out[`d${n}`]]));
      const gradient = await windowed.gradient(pixels, d, options);
      return { terms, total: out.total[0], gradient };
    },
    async release() {
      await windowed.release();
      await session.release();
    },
  };
}
