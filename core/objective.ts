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
import { createSession, type Session, type SessionOptions } from "./runtime/mod.ts";
import type { FeatureNetwork } from "./network/mod.ts";
import { fitLongSide, resizeImage, type RgbImage } from "./image.ts";
import {
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
  /** Costs and gradient at `pixels` (planar RGB in [0, 1], 3·W·H values). */
  evaluate(pixels: Float32Array): Promise<Evaluation>;
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
  arrays: Record<string, { data: Float32Array; shape: number[] }>;
  weight: number;
  source: number;
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
    const outputs: Record<string, Tensor> = {};
    for (const { index, use } of job.uses) {
      const targets = await inPluginAsync(
        use,
        "targets",
        () =>
          use.plugin.spec.targets!(
            { features: read, mask: (l) => mask?.(l), network: info },
            use.options,
          ),
      );
      if (typeof targets !== "object" || targets === null) {
        throw new OptionError(
          `plugin ${use.plugin.name}: targets must return an object of tensors`,
        );
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
        outputs[`t${index}_${key}`] = t;
      }
    }
    // Targets may be empty (a plugin that reads its reference's mask only).
    let values: Record<string, Float32Array> = {};
    if (Object.keys(outputs).length) {
      const session = await open(toOnnx(outputs, { name: `targets_${job.key}` }));
      values = await session.run({ reference: job.image.data });
      await session.release();
    }
    for (const { index } of job.uses) {
      const prefix = `t${index}_`;
      const arrays: Record<string, { data: Float32Array; shape: number[] }> = {};
      for (const [name, t] of Object.entries(outputs)) {
        if (name.startsWith(prefix)) {
          arrays[name.slice(prefix.length)] = { data: values[name], shape: [...t.shape] };
        }
      }
      const list = out.get(index) ?? [];
      list.push({ arrays, weight: job.weight, source: job.n });
      out.set(index, list);
    }
  }
  return out;
}

/** The weighted mean of several target sets with the same keys and shapes. */
function blendTargets(
  sets: TargetSet[],
): Record<string, { data: Float32Array; shape: number[] }> {
  if (sets.length === 1) return sets[0].arrays;
  const blended: Record<string, { data: Float32Array; shape: number[] }> = {};
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
  const targets = await computeTargets(spec, info, layersOf, open, contentMask);
  const image = input("image", [1, 3, height, width]);
  const read = featureReader(spec.network, image, layersOf.flat(), spec.pooling);
  const maskOf = maskReaders(spec, layersOf.flat(), (l) => read(l).shape);
  const names = labels(spec.plugins);
  const outputs: Record<string, Tensor> = {};
  const weighted: Tensor[] = [];
  const costs: Tensor[] = [];
  for (const [i, use] of spec.plugins.entries()) {
    const kind = use.plugin.spec.reference;
    const sets = targets.get(i) ?? [{ arrays: {}, weight: 1, source: 0 }];
    let readsMask = false;
    const costOf = async (set: TargetSet, mask?: Mask) => {
      const consts = Object.fromEntries(
        Object.entries(set.arrays).map((
          [k, a],
        ) => [k, constant(a.data, a.shape, { name: `target_${i}_${k}` })]),
      );
      const reader = maskOf(mask);
      const c = await inPluginAsync(
        use,
        "cost",
        () =>
          use.plugin.spec.cost({
            features: read,
            targets: consts,
            mask: (l) => {
              readsMask = true;
              return reader?.(l);
            },
            network: info,
          }, use.options),
      );
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
    };
    // With style masks: one cost per style image over its own region,
    // weighted so each covered pixel gets the style at full strength. A
    // plugin that ignores masks keeps its unguided blend and strength.
    const guidedStyle = async (): Promise<Tensor | undefined> => {
      if (kind !== "style" || !regions || !strength) return undefined;
      const inside = sets.filter((s) => strength[s.source] > 0);
      if (!inside.length) {
        throw new OptionError("every style mask is empty (all black): no style would be applied");
      }
      const parts = [await costOf(inside[0], regions[inside[0].source])];
      if (!readsMask) return undefined;
      for (const s of inside.slice(1)) parts.push(await costOf(s, regions[s.source]));
      return addN(parts.map((c, k) => mul(c, strength[inside[k].source])));
    };
    const unguided = async (): Promise<Tensor> => {
      const mask = kind === "content" ? contentMask : undefined;
      if (use.plugin.spec.blend === "costs") {
        const parts: Tensor[] = [];
        for (const s of sets) parts.push(mul(await costOf(s, mask), s.weight));
        return addN(parts);
      }
      return await costOf({ arrays: blendTargets(sets), weight: 1, source: 0 }, mask);
    };
    const cost = (await guidedStyle()) ?? (await unguided());
    const guided = (kind === "style" && regions) || (kind === "content" && contentMask);
    if (guided && !readsMask) {
      options.onNotice?.(
        `plugin ${use.plugin.name} does not read masks: its cost ignores the ${kind} masks`,
      );
    }
    outputs[`cost_${i}`] = cost;
    costs.push(cost);
    weighted.push(use.weight === 1 ? cost : mul(cost, use.weight));
  }
  const total = addN(weighted);
  const [gradient] = grad(total, [image]);
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
