/**
 * Targets from the reference images: every reference image (the content
 * image, each style image) goes once through a forward-only graph of the
 * network and the plugins' `targets` (or `statistics`, window by window when
 * the image is large); the arrays that come back become constants of the
 * per-iteration graph.
 *
 * @module
 */

import { input, type OnnxGraph, type Tensor, toOnnx } from "./graph/mod.ts";
import { planTiles, type TilePlan } from "./tiling/plan.ts";
import {
  type Array32,
  constantOf,
  windowedFeatures,
  WindowedStatistics,
} from "./tiling/windowed.ts";
import type { Session } from "./runtime/mod.ts";
import type { FeatureNetwork } from "./network/mod.ts";
import { fitLongSide, resizeImage, type RgbImage } from "./image.ts";
import { IMAGE_LAYER, inPluginAsync, type NetworkInfo, type PluginUse } from "./plugin.ts";
import { OptionError } from "./options.ts";
import { layerMasks, type Mask, resizeMask } from "./guidance.ts";
import {
  checkedStatistics,
  checkedTargets,
  featureReader,
  noFeatures,
  noReference,
} from "./plugin_calls.ts";
import type { ObjectiveSpec } from "./objective.ts";

/** A reference image and the plugin uses that read it. */
interface ReferenceJob {
  image: RgbImage;
  mask?: Mask;
  uses: { index: number; use: PluginUse }[];
  /** `style`, or the name of an image of the output's size (`content`, …). */
  kind: string;
}

/** An image of the output's size read by the plugins that name it, and its mask. */
export interface OutputReference {
  /** The image (resized to the objective's size). */
  readonly image: RgbImage;
  /** Its weight per output pixel: `mask(layer)` in the statistics and cost of its plugins. */
  readonly mask?: Mask;
}

/** The images of the output's size by name: the content image and the run's other references. */
export function outputReferences(spec: ObjectiveSpec): Map<string, OutputReference> {
  const refs = new Map<string, OutputReference>();
  if (spec.content) refs.set("content", { image: spec.content, mask: spec.guidance?.content });
  for (const [name, ref] of Object.entries(spec.references ?? {})) refs.set(name, ref);
  return refs;
}

/** Targets of one plugin from one reference image: `source` is the style image's index. */
export interface TargetSet {
  arrays: Record<string, Array32>;
  weight: number;
  source: number;
  /** The content image's features by layer, for a statistics plugin's `reference()`. */
  references?: Map<string, Array32>;
  /** Or the content image, when its features are computed in each window. */
  referencePixels?: Float32Array;
}

/** A mask reader per mask, over the layers every plugin reads. */
export type MaskReaders = (mask: Mask | undefined) => ((layer: string) => Tensor) | undefined;

export function maskReaders(
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

/** A layer name as an ONNX value name. */
export const safeName = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");

/** The mirror padding the network applies to an image of this size. */
export function paddingFor(
  network: FeatureNetwork,
  size: { width: number; height: number },
): number {
  return Math.min(network.description.inputPadding ?? 0, Math.min(size.width, size.height) - 1);
}

/** A plan over an image, when tiles are asked for and it takes more than one window. */
export function planFor(
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
export async function runOnce(
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
export async function layerMaskArrays(
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
export async function computeTargets(
  spec: ObjectiveSpec,
  info: NetworkInfo,
  layersOf: readonly (readonly string[])[],
  open: (graph: OnnxGraph) => Promise<Session>,
  masks: ReadonlyMap<string, Mask | undefined>,
): Promise<Map<number, TargetSet[]>> {
  const out = new Map<number, TargetSet[]>();
  // Group by the exact reference pixels fed (an image at one size), so one
  // forward pass serves every plugin that reads it.
  const jobs = new Map<string, ReferenceJob & { weight: number; key: string; n: number }>();
  const sources: { image: RgbImage; weight: number; kind: string; n: number }[] = [
    ...[...outputReferences(spec)].map(([kind, ref]) => ({
      image: ref.image,
      weight: 1,
      kind,
      n: 0,
    })),
    ...(spec.styles ?? []).map((s, n) => ({ image: s.image, weight: s.weight, kind: "style", n })),
  ];
  const total = (spec.styles ?? []).reduce((a, s) => a + s.weight, 0);
  spec.plugins.forEach((use, index) => {
    const kind = use.plugin.spec.reference;
    if (!kind) return;
    for (const src of sources.filter((s) => s.kind === kind)) {
      const size = kind !== "style" ? spec.size : fitLongSide(
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
            mask: kind !== "style" ? masks.get(kind) : source && resizeMask(source, size),
            uses: [],
            kind,
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
    const read = featureReader(spec.network, image, layers, { pooling: spec.pooling });
    const mask = maskReaders(spec, layers, (l) => read(l).shape)(job.mask);
    // An image of the output's size: its features serve `reference()`.
    const ofOutput = job.kind !== "style";
    const statsUses = job.uses.filter(({ use }) => use.plugin.spec.statistics);
    const refLayers: string[] = [];
    for (const { use } of ofOutput ? statsUses : []) {
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
        if (ofOutput && !use.plugin.spec.targets) continue;
        const statistics = checkedStatistics(
          use,
          await inPluginAsync(use, "statistics", () =>
            use.plugin.spec.statistics!({
              features: read,
              mask: (l) => mask?.(l),
              reference: ofOutput ? read : noReference,
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
  // The raw pixels are their own features: the network computes only its layers.
  const netLayers = ctx.refLayers.filter((l) => l !== IMAGE_LAYER);
  const references = netLayers.length && !recompute
    ? await windowedFeatures(spec.network, plan, {
      pixels: job.image.data,
      layers: netLayers,
      pooling: spec.pooling,
      open,
    })
    : new Map<string, Array32>();
  if (!recompute && ctx.refLayers.includes(IMAGE_LAYER)) {
    references.set(IMAGE_LAYER, {
      data: job.image.data,
      shape: [1, 3, job.image.height, job.image.width],
    });
  }
  const ofOutput = job.kind !== "style";
  const uses = job.uses.filter(({ use }) => !ofOutput || use.plugin.spec.targets);
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
      reference: !ofOutput ? undefined : referencePixels ? { pixels: referencePixels } : references,
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
export function blendTargets(sets: TargetSet[]): Record<string, Array32> {
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
