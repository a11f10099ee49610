/**
 * The stylisation driver: coarse-to-fine scales, initialisation, the
 * optimiser loop, progress events with previews, cancellation, "preserve
 * original colours", several style images, and texture synthesis (no content
 * image). Runtime-agnostic: web APIs only.
 *
 * @module
 */

import { compileObjective, type Evaluation, networkInfo, type Objective } from "./objective.ts";
import { fitLongSide, resizeImage, type RgbImage, rgbImage } from "./image.ts";
import { combineLuminance, luminanceImage } from "./color.ts";
import { adam, IterateAverage, lbfgs, type Optimizer } from "./optim/mod.ts";
import { OptionError, parseOptions } from "./options.ts";
import { type Settings, SETTINGS_SCHEMA } from "./recipe.ts";
import { uniform } from "./random.ts";
import { type FeatureNetwork, normaliseActivations } from "./network/mod.ts";
import { IMAGE_LAYER, pluginLayers, type PluginUse } from "./plugin.ts";
import { type MemoryPlan, memoryPlan } from "./tiling/memory_plan.ts";
import { parseBytes } from "./tiling/budget.ts";
import {
  checkMaskCount,
  checkMaskFits,
  checkSourceCovers,
  type Guidance,
  type Mask,
  maskCoverage,
  resizeMask,
  styleRegions,
} from "./guidance.ts";

/** What to stylise. */
export interface StylizeInput {
  /** The feature network. */
  network: FeatureNetwork;
  /** The cost terms. */
  plugins: readonly PluginUse[];
  /** The content image; absent for texture synthesis. */
  content?: RgbImage;
  /** The style images (blend weights in `settings.styleWeights`). */
  styles?: readonly RgbImage[];
  /** The starting image when `settings.init` is `image`. */
  initImage?: RgbImage;
  /**
   * Other images of the output's aspect ratio, by name, for plugins whose
   * reference names them (e.g. `previous`: the previous video frame warped
   * onto this one, with the weight of each pixel as its mask). Resized to
   * each scale, like the content image.
   */
  references?: Readonly<Record<string, { image: RgbImage; mask?: Mask }>>;
  /**
   * Masks (any size, the aspect ratio of their image): where each style image
   * goes in the output, which part of each style image is matched, and the
   * content weight per pixel. How they reach each layer is `settings.guidance`.
   */
  masks?: Omit<Guidance, "method">;
  /** Settings (see {@linkcode Settings}); missing ones take their defaults. */
  settings?: Partial<Settings>;
}

/** Progress of a run. */
export type ProgressEvent =
  | { type: "scale"; scale: number; scales: number; width: number; height: number }
  | {
    type: "iteration";
    scale: number;
    scales: number;
    iteration: number;
    iterations: number;
    terms: Readonly<Record<string, number>>;
    total: number;
    msPerIteration: number;
    evaluations: number;
  }
  | { type: "preview"; scale: number; iteration: number; image: RgbImage }
  | {
    type: "tile";
    scale: number;
    scales: number;
    /** 1: statistics, 2: gradient. */
    pass: 1 | 2;
    /** Windows done in this pass of this evaluation. */
    done: number;
    windows: number;
    /** The part of the image the window just done counts, in output pixels. */
    region: { x: number; y: number; width: number; height: number };
  }
  | { type: "warning"; message: string };

/** Options of {@linkcode stylize}. */
export interface StylizeOptions {
  /** Receives progress events. */
  onProgress?: (event: ProgressEvent) => void;
  /** Stops the run (it then rejects with the signal's reason). */
  signal?: AbortSignal;
  /** CPU threads for wasm/native (default all). */
  threads?: number;
  /** One-line notices (backend chosen, adjustments). */
  onNotice?: (message: string) => void;
  /**
   * Bytes the host offers a run whose `maxMemory` is `auto` (the CLI: most
   * of the free memory). Absent: no limit, the whole image at once.
   */
  memory?: number;
  /**
   * Collects garbage (the CLI passes V8's collector). Called between scales,
   * once the previous scale's optimiser arrays are dropped, so they do not
   * sit uncollected beside the next scale's within the memory budget.
   */
  collectGarbage?: () => void;
}

/** The outcome of a run. */
export interface StylizeResult {
  /** The stylised image. */
  image: RgbImage;
  /** Final cost terms (unweighted) at the last scale. */
  terms: Record<string, number>;
  /** Final weighted total. */
  total: number;
  /** The weighted total where the final scale started (to compare with `total`). */
  startTotal: number;
  /** Backend and device used. */
  backend: string;
  /** Device description. */
  device: string;
  /** Optimiser iterations and function evaluations over all scales. */
  iterations: number;
  /** Function evaluations over all scales. */
  evaluations: number;
  /** Problems met and handled (NaN/Inf, early stops). */
  warnings: string[];
  /** The settings used, defaults filled in. */
  settings: Settings;
}

/** Output size: the content's aspect ratio, or `aspect` for a texture. */
export function outputSize(
  settings: Settings,
  content?: RgbImage,
): { width: number; height: number } {
  if (content) return fitLongSide(content, settings.size);
  const a = settings.aspect;
  return a >= 1
    ? { width: settings.size, height: Math.max(1, Math.round(settings.size / a)) }
    : { width: Math.max(1, Math.round(settings.size * a)), height: settings.size };
}

/** Refuses an output whose shorter side the network cannot read, naming the size that works. */
function checkOutputSize(settings: Settings, input: StylizeInput): void {
  const { minSize, name } = input.network.description;
  const shorter = (size: number) => {
    const { width, height } = outputSize({ ...settings, size }, input.content);
    return Math.min(width, height);
  };
  if (shorter(settings.size) >= minSize) return;
  let enough = settings.size;
  while (shorter(enough) < minSize) enough++;
  const { width, height } = outputSize(settings, input.content);
  throw new OptionError(
    `size ${settings.size} makes a ${width}×${height} image, too small for network ${name} ` +
      `(its shorter side needs ${minSize} px); use size ${enough} or more`,
  );
}

/** Longer sides of the scales, geometric from `minSize` to `size`. */
export function scaleSizes(settings: Settings, networkMin: number): number[] {
  const { scales, size } = settings;
  const low = Math.max(settings.minSize, networkMin);
  if (scales === 1 || low >= size) return [size];
  return Array.from(
    { length: scales },
    (_, k) => Math.round(low * (size / low) ** (k / (scales - 1))),
  );
}

/** The starting image: the chosen init, with `settings.noise` of seeded noise blended in. */
function startImage(
  settings: Settings,
  size: { width: number; height: number },
  input: StylizeInput,
  content?: RgbImage,
): RgbImage {
  const n = 3 * size.width * size.height;
  const noise = () => uniform(n, settings.seed, { lo: 0, hi: 1 });
  let base: Float32Array;
  switch (settings.init) {
    case "noise":
      return rgbImage(size.width, size.height, noise());
    case "content":
      // A texture has no content image: start from grey instead.
      base = content ? resizeImage(content, size).data : new Float32Array(n).fill(0.5);
      break;
    case "gray":
      base = new Float32Array(n).fill(0.5);
      break;
    case "image":
      if (!input.initImage) throw new OptionError("init is image but no initial image was given");
      base = resizeImage(input.initImage, size).data;
      break;
  }
  const a = settings.noise;
  if (a === 0) return rgbImage(size.width, size.height, Float32Array.from(base));
  const r = noise();
  return rgbImage(size.width, size.height, base.map((v, i) => (1 - a) * v + a * r[i]));
}

/**
 * The network with Gatys' mean-activation normalisation, measured on the
 * reference images (at most 512 px) for the layers the plugins read.
 */
async function normalised(
  input: StylizeInput,
  images: (RgbImage | undefined)[],
  settings: Settings,
  options: StylizeOptions,
): Promise<FeatureNetwork> {
  const info = networkInfo(input.network);
  const layers = [
    ...new Set(input.plugins.flatMap((u) => [...u.plugin.spec.layers(u.options, info)])),
  ].filter((l) => l !== IMAGE_LAYER);
  const calibration = images
    .filter((i): i is RgbImage => i !== undefined)
    .map((i) => resizeImage(i, fitLongSide(i, Math.min(512, Math.max(i.width, i.height)))));
  if (!calibration.length) {
    throw new OptionError("normalise needs a content or style image to measure on");
  }
  return await normaliseActivations(input.network, calibration, {
    layers,
    pooling: settings.pooling === "auto" ? undefined : settings.pooling,
    backend: settings.backend,
    threads: options.threads,
  });
}

function checkInput(input: StylizeInput, settings: Settings): void {
  const styles = input.styles ?? [];
  if (settings.styleWeights.length && settings.styleWeights.length !== styles.length) {
    throw new OptionError(
      `styleWeights has ${settings.styleWeights.length} weights for ${styles.length} style image(s); give one per style image`,
    );
  }
  for (const n of settings.scaleIterations) {
    if (!Number.isInteger(n)) {
      throw new OptionError(`scaleIterations: ${n} is not a whole number of iterations`);
    }
  }
  if (settings.preserveColors && !input.content) {
    throw new OptionError("preserveColors needs a content image (its colours are the ones kept)");
  }
}

/**
 * Refuses masks that do not fit their images or the style list, and warns
 * about masks that give a style no region or all of it.
 */
function checkMasks(
  input: StylizeInput,
  settings: Settings,
  warn: (message: string) => void,
): void {
  const masks = input.masks;
  if (!masks) return;
  const styles = input.styles ?? [];
  const output = outputSize(settings, input.content);
  const stretch = settings.stretchMasks;
  const outputName = input.content
    ? "the content image"
    : `the output (a texture of aspect ${settings.aspect})`;
  if (masks.content && !input.content) {
    throw new OptionError("a content mask needs a content image (a texture has none)");
  }
  const reads = (kind: "style" | "content") =>
    input.plugins.some((u) => u.plugin.spec.reference === kind);
  if (masks.styles?.some((m) => m) && !reads("style")) {
    warn("style masks given, but no cost term uses the style images: the masks do nothing");
  }
  if (masks.content && !reads("content")) {
    warn("a content mask given, but no cost term uses the content image: the mask does nothing");
  }
  checkMaskCount(masks.styles, styles.length, "style masks");
  checkMaskCount(masks.styleSources, styles.length, "style source masks");
  masks.styles?.forEach((m, i) => {
    if (!m) return;
    checkMaskFits(m, input.content ?? output, {
      what: `the style mask of style image ${i + 1}`,
      image: outputName,
      stretch,
    });
    const coverage = maskCoverage(m);
    if (coverage === 0) {
      warn(`style mask ${i + 1} is all black: style image ${i + 1} gets no region`);
    }
    if (coverage === 1) {
      warn(`style mask ${i + 1} is all white: style image ${i + 1} covers the whole image`);
    }
  });
  masks.styleSources?.forEach((m, i) => {
    if (!m) return;
    checkMaskFits(m, styles[i], {
      what: `the source mask of style image ${i + 1}`,
      image: `style image ${i + 1}`,
      stretch,
    });
    checkSourceCovers(m, i);
  });
  const regions = styleRegions(masks.styles, styles.length, output);
  regions?.forEach((r, i) => {
    if (!masks.styles?.[i] && maskCoverage(r) === 0) {
      warn(
        `style image ${
          i + 1
        } has no mask and the other masks cover the whole image: it gets no region`,
      );
    }
  });
  if (regions && regions.every((r) => maskCoverage(r) === 0)) {
    throw new OptionError("every style mask is empty (all black): no style would be applied");
  }
  if (masks.content) {
    checkMaskFits(masks.content, input.content ?? output, {
      what: "the content mask",
      image: outputName,
      stretch,
    });
    if (maskCoverage(masks.content) === 0) {
      warn("the content mask is all black: the content cost has no weight anywhere");
    }
  }
}

/**
 * Stylises: runs the optimiser over every scale and returns the image.
 *
 * @example
 * ```ts
 * import { FeatureNetwork, randomWeights, rgbImage, style, stylize, TINY, tv, uniform } from "../mod.ts";
 * const network = new FeatureNetwork(TINY, randomWeights(TINY, 1));
 * const styleImage = rgbImage(32, 32, uniform(3 * 32 * 32, 2, { lo: 0, hi: 1 }));
 * const { image } = await stylize({
 *   network,
 *   plugins: [style.use({}, 1), tv.use({}, 1e-4)],
 *   styles: [styleImage],
 *   settings: { size: 32, scales: 1, iterations: 20, init: "noise", backend: "wasm" },
 * });
 * ```
 */
export async function stylize(
  input: StylizeInput,
  options: StylizeOptions = {},
): Promise<StylizeResult> {
  const settings = parseOptions(SETTINGS_SCHEMA, input.settings ?? {}, {
    owner: "settings",
  }) as Settings;
  checkInput(input, settings);
  const budget = parseBytes(settings.maxMemory) ?? options.memory;
  const emit = options.onProgress ?? (() => {});
  const signal = options.signal;
  signal?.throwIfAborted();
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    emit({ type: "warning", message });
  };

  // Luminance-only transfer: optimise grey images, put the content's colours back at the end.
  const colours = settings.preserveColors ? input.content : undefined;
  const content = colours ? luminanceImage(colours) : input.content;
  const styleImages = (input.styles ?? []).map((s) => colours ? luminanceImage(s, colours) : s);
  const weights = settings.styleWeights.length ? settings.styleWeights : styleImages.map(() => 1);
  const styles = styleImages.map((image, i) => ({ image, weight: weights[i] }));
  const finalSize = outputSize(settings, input.content);
  checkOutputSize(settings, input);
  checkMasks(input, settings, warn);
  const guidance = input.masks && { ...input.masks, method: settings.guidance };
  const network = settings.normalise
    ? await normalised(input, [content, ...styleImages], settings, options)
    : input.network;
  const sides = scaleSizes(settings, network.description.minSize);
  // The layers each plugin reads: the memory plans of every scale count them.
  const layersRead = input.plugins.map((u) => pluginLayers(u, networkInfo(network)));
  if (settings.scales > 1 && sides.length === 1) {
    options.onNotice?.(
      `scales: one scale only, since the output (${settings.size} px) is not larger than minSize ` +
        `(${Math.max(settings.minSize, network.description.minSize)} px)`,
    );
  } else if (settings.minSize < network.description.minSize && settings.scales > 1) {
    options.onNotice?.(
      `scales: the coarsest scale starts at ${
        sides[0]
      } px, the smallest network ${input.network.name} handles`,
    );
  }
  const withColours = (image: RgbImage) =>
    colours
      ? combineLuminance(image, resizeImage(colours, { width: image.width, height: image.height }))
      : image;

  let image: RgbImage | undefined;
  let last: Evaluation | undefined;
  let startTotal = NaN;
  let backend = "";
  let device = "";
  let iterations = 0;
  let evaluations = 0;
  // Later scales run where the first one landed (no second probe or notice).
  let backendChoice = settings.backend;
  for (let k = 0; k < sides.length; k++) {
    signal?.throwIfAborted();
    const size = k === sides.length - 1 ? finalSize : fitLongSide(finalSize, sides[k]);
    emit({ type: "scale", scale: k + 1, scales: sides.length, ...size });
    // Not kept past the optimiser's own copy: at 8192² px an image is 0.8 GB.
    let start: RgbImage | undefined = image
      ? resizeImage(image, size)
      : startImage(settings, size, input, content);
    image = undefined;
    if (k > 0) options.collectGarbage?.();
    const memory: MemoryPlan | undefined = budget === undefined
      ? undefined
      : memoryPlan(network.description, layersRead.flat(), {
        size,
        settings,
        bytes: budget,
        // Images of the output's size keep their features over the whole image.
        referenceLayers: layersRead.filter((_, i) => {
          const kind = input.plugins[i].plugin.spec.reference;
          return kind !== undefined && kind !== "style";
        }).flat(),
      });
    if (memory?.notice) options.onNotice?.(`scale ${k + 1}: ${memory.notice}`);
    const history = memory?.history ?? settings.history;
    let objective: Objective | undefined;
    try {
      objective = await compileObjective({
        network,
        pooling: settings.pooling === "auto" ? undefined : settings.pooling,
        plugins: input.plugins,
        size,
        content: content && resizeImage(content, size),
        styles,
        references: input.references && Object.fromEntries(
          Object.entries(input.references).map(([name, r]) => [name, {
            image: resizeImage(r.image, size),
            mask: r.mask && resizeMask(r.mask, size),
          }]),
        ),
        guidance,
        tiles: memory?.tiles,
      }, {
        backend: backendChoice,
        threads: options.threads,
        onNotice: k === 0 ? options.onNotice : undefined,
      });
      backend = objective.session.backend;
      backendChoice = objective.session.backend;
      device = objective.session.device;
      const scale = k + 1;
      const evaluate = async (x: Float32Array) => {
        const e = await objective!.evaluate(x, {
          signal,
          onWindow: (p) => emit({ type: "tile", scale, scales: sides.length, ...p }),
        });
        return { ...e, value: e.total };
      };
      const bounds = { lower: 0, upper: 1 };
      const optimizer: Optimizer<Evaluation & { value: number }> =
        (memory?.optimizer ?? settings.optimizer) === "lbfgs"
          ? lbfgs(evaluate, start.data, { history, bounds })
          : adam(evaluate, start.data, { learningRate: settings.learningRate, bounds });
      start = undefined;
      const average = settings.average > 0
        ? new IterateAverage(3 * size.width * size.height, settings.average)
        : undefined;
      last = await optimizer.start();
      startTotal = last.total;
      evaluations++;
      const current = () =>
        rgbImage(size.width, size.height, average ? average.value() : optimizer.x);
      let stuck = 0;
      const list = settings.scaleIterations;
      const steps = list.length ? list[Math.min(k, list.length - 1)] : settings.iterations;
      for (let i = 1; i <= steps; i++) {
        // Let queued events (a Ctrl-C, a worker's stop message) run: backends
        // may resolve without ever yielding to the event loop.
        await new Promise((resolve) => setTimeout(resolve, 0));
        signal?.throwIfAborted();
        const t0 = performance.now();
        const step = await optimizer.step();
        const ms = performance.now() - t0;
        iterations++;
        evaluations += step.evaluations;
        last = step.at;
        average?.update(optimizer.x);
        emit({
          type: "iteration",
          scale: k + 1,
          scales: sides.length,
          iteration: i,
          iterations: steps,
          terms: step.at.terms,
          total: step.at.total,
          msPerIteration: ms,
          evaluations: step.evaluations,
        });
        if (
          settings.previewEvery > 0 &&
          (i % settings.previewEvery === 0 || i === steps)
        ) {
          emit({ type: "preview", scale: k + 1, iteration: i, image: withColours(current()) });
        }
        if (step.stalled === "non-finite") {
          warn(
            `scale ${
              k + 1
            }, iteration ${i}: the cost or gradient became NaN/Inf; kept the last good image ` +
              `and stopped this scale`,
          );
          break;
        }
        if (step.stalled === "converged") break;
        stuck = step.stalled === "no-decrease" ? stuck + 1 : 0;
        if (stuck >= 3) {
          warn(`scale ${k + 1}, iteration ${i}: no further decrease; stopped this scale early`);
          break;
        }
      }
      image = current();
    } finally {
      await objective?.release();
    }
  }
  return {
    image: withColours(image!),
    terms: { ...last!.terms },
    total: last!.total,
    startTotal,
    backend,
    device,
    iterations,
    evaluations,
    warnings,
    settings,
  };
}
