/**
 * Plugins whose code runs elsewhere — in the playground, in a sandbox that
 * cannot touch the page, the network or storage. The code only builds
 * expressions, so what crosses over is a *recording* of the API calls it
 * made, never the code: the sandbox runs the plugin on stand-in tensors of
 * the right shapes through a recording copy of the API, and the side that
 * compiles the objective replays the recording with the real features,
 * targets and masks. Replaying goes through the same public functions, so
 * every shape is checked again, and a recording that names anything else is
 * refused.
 *
 * - Sandbox side: {@linkcode answerPluginRequest} (with the plugins from
 *   `pluginsFromModule` run against {@linkcode recordingApi}).
 * - Compiling side: {@linkcode remotePlugin}, a plugin whose `targets` and
 *   `cost` ask the sandbox (through any async `ask` function: a
 *   MessagePort, a Worker) and replay the answer.
 *
 * @module
 */

import { Tensor } from "./graph/expr.ts";
import { input } from "./graph/ops/source.ts";
import { OptionError, type OptionSpec } from "./options.ts";
import { moduleLine } from "./plugin_module.ts";
import {
  definePlugin,
  type NetworkInfo,
  type Plugin,
  type PluginOptions,
  type PluginSpec,
  type ReferenceName,
} from "./plugin.ts";

/** The API functions that build expressions: the only calls a recording may hold. */
export const EXPRESSION_FUNCTIONS: readonly string[] = [
  "add",
  "addN",
  "div",
  "mul",
  "sub",
  "abs",
  "exp",
  "log",
  "neg",
  "pow",
  "relu",
  "sigmoid",
  "sqrt",
  "square",
  "tanh",
  "reduceMean",
  "reduceSum",
  "concat",
  "reshape",
  "slice",
  "transpose",
  "matmul",
  "softmax",
  "conv2d",
  "avgPool",
  "constant",
  "gramMatrix",
];

/** What plugin code in a sandbox may import from "stylegram": expressions, options, definePlugin. */
const AUTHORING_NAMES = [
  ...EXPRESSION_FUNCTIONS,
  "definePlugin",
  "numberOption",
  "integerOption",
  "booleanOption",
  "choiceOption",
  "layersOption",
  "resolveLayers",
  "IMAGE_LAYER",
  "OptionError",
  "Tensor",
];

/** Most API calls one answer may hold: a bigger graph is refused. */
export const MAX_CALLS = 20_000;
/** Most constant values one answer may carry. */
export const MAX_CONSTANT_VALUES = 4_000_000;
/** Most elements of any one tensor a recording makes (a 2048² image's 32 channels). */
export const MAX_TENSOR_ELEMENTS = 2 ** 27;
/** Most multiply-adds of the matrix products and convolutions one answer may add. */
export const MAX_MULTIPLY_ADDS = 2e11;

/** Where a stand-in tensor comes from: a layer's features, mask or reference, a target or a statistic. */
export interface Leaf {
  /** What it stands for. */
  kind: "features" | "targets" | "mask" | "statistics" | "reference";
  /** The layer (features, mask, reference) or the target's or statistic's name. */
  key: string;
}

/** An argument as it travels: tensors by their number in the recording. */
type Wire =
  | null
  | boolean
  | number
  | string
  | { $t: number }
  | { $f32: number[] }
  | Wire[]
  | { [key: string]: Wire };

/** One step of a recording: a stand-in, or an API call with its arguments. */
export type RecordedStep = { leaf: Leaf } | { call: string; args: Wire[] };

/** What a plugin describes of itself (all plain data). */
export interface PluginDescription {
  /** Name. */
  name: string;
  /** One line. */
  description: string;
  /** Its option records. */
  options: Record<string, OptionSpec>;
  /** Its reference image, if any. */
  reference?: ReferenceName;
  /** How several style images combine. */
  blend?: "targets" | "costs";
  /** Whether it has `statistics` (then it can be evaluated in tiles). */
  statistics?: boolean;
  /** With `statistics`: whether it has its own `targets` (else they are its statistics). */
  targets?: boolean;
}

/** A question to the sandbox. */
export type PluginRequest =
  | { fn: "layers"; plugin: string; options: PluginOptions; network: NetworkInfo }
  | {
    fn: "statistics" | "targets" | "cost";
    plugin: string;
    options: PluginOptions;
    network: NetworkInfo;
    /**
     * Shapes of the stand-ins: features and masks by layer, targets and
     * statistics by name; for `cost` of a plugin with statistics, `features`
     * holds the whole image's shapes (`ctx.shape`).
     */
    shapes: {
      features: Record<string, number[]>;
      targets: Record<string, number[]>;
      mask: Record<string, number[]>;
      statistics?: Record<string, number[]>;
    };
  };

/** The stand-ins' shapes of a request. */
type Shapes = Exclude<PluginRequest, { fn: "layers" }>["shapes"];

/** The sandbox's answer. */
export type PluginAnswer =
  | { layers: string[] }
  | { steps: RecordedStep[]; result: Wire; readMask: boolean }
  | { error: string; line?: number };

/** The description of a plugin, for the other side. */
export function describePlugin(plugin: Plugin): PluginDescription {
  const { name, description, options, reference, blend, statistics } = plugin.spec;
  return structuredClone({
    name,
    description,
    options: options as Record<string, OptionSpec>,
    ...(reference ? { reference } : {}),
    ...(blend ? { blend } : {}),
    ...(statistics ? { statistics: true, ...(plugin.spec.targets ? { targets: true } : {}) } : {}),
  });
}

/** The recording in progress; one per answer. */
class Recording {
  readonly steps: RecordedStep[] = [];
  readonly #ids = new WeakMap<Tensor, number>();
  #constants = 0;

  leaf(leaf: Leaf, shape: readonly number[]): Tensor {
    const t = input(`leaf_${this.steps.length}`, shape);
    this.#add(t, { leaf });
    return t;
  }

  call(name: string, args: unknown[], result: unknown): void {
    if (!(result instanceof Tensor)) return;
    if (name === "constant" && Array.isArray(args[0])) {
      this.count((args[0] as unknown[]).flat(8).length);
    }
    this.#add(result, { call: name, args: args.map((a) => this.#encode(a)) });
  }

  encode(value: unknown): Wire {
    return this.#encode(value);
  }

  count(values: number): void {
    this.#constants += values;
    if (this.#constants > MAX_CONSTANT_VALUES) {
      throw new OptionError(`too many constant values: over ${MAX_CONSTANT_VALUES}`);
    }
  }

  #add(t: Tensor, step: RecordedStep): void {
    if (this.steps.length >= MAX_CALLS) {
      throw new OptionError(`the graph is too big: over ${MAX_CALLS} operations`);
    }
    this.#ids.set(t, this.steps.length);
    this.steps.push(step);
  }

  #encode(value: unknown): Wire {
    if (value === undefined) return null;
    if (value === null || typeof value === "boolean" || typeof value === "string") return value;
    if (typeof value === "number") {
      if (!Number.isFinite(value)) {
        throw new OptionError(`a non-finite number (${value}) cannot be used`);
      }
      return value;
    }
    if (value instanceof Tensor) {
      const id = this.#ids.get(value);
      if (id === undefined) {
        throw new OptionError("a tensor made outside the stylegram API was used");
      }
      return { $t: id };
    }
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const values = Array.from(value as unknown as ArrayLike<number>);
      this.count(values.length);
      return { $f32: values };
    }
    if (Array.isArray(value)) return value.map((v) => this.#encode(v));
    if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, this.#encode(v)]),
      );
    }
    throw new OptionError(`a ${typeof value} cannot be passed to the stylegram API here`);
  }
}

let current: Recording | undefined;

/**
 * The part of `api` that plugin code in a sandbox gets, its expression
 * functions recording each call (while an answer is being recorded). Running
 * a network, sessions or files is not part of it.
 */
export function recordingApi(api: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const wrapped: Record<string, unknown> = {};
  for (const name of AUTHORING_NAMES) {
    const value = api[name];
    if (value === undefined) continue;
    if (!EXPRESSION_FUNCTIONS.includes(name)) {
      wrapped[name] = value;
      continue;
    }
    const fn = value as (...args: unknown[]) => unknown;
    wrapped[name] = (...args: unknown[]) => {
      const recording = current;
      // Calls inside a recorded call (a helper using the API) are not recorded themselves.
      current = undefined;
      let result: unknown;
      try {
        result = fn(...args);
      } finally {
        current = recording;
      }
      recording?.call(name, args, result);
      return result;
    };
  }
  return wrapped;
}

/** Answers one request with the sandbox's plugins (found by name). */
export async function answerPluginRequest(
  request: PluginRequest,
  plugins: ReadonlyMap<string, Plugin>,
): Promise<PluginAnswer> {
  const plugin = plugins.get(request.plugin);
  if (!plugin) return { error: `no plugin "${request.plugin}" in the sandbox` };
  try {
    const spec = plugin.spec as PluginSpec;
    if (request.fn === "layers") {
      return { layers: [...spec.layers(request.options, request.network)] };
    }
    const recording = new Recording();
    let readMask = false;
    const { shapes } = request;
    const leaves = new Map<string, Tensor>();
    const leaf = (kind: Leaf["kind"], key: string, shape: number[]) => {
      const id = `${kind}/${key}`;
      let t = leaves.get(id);
      if (!t) leaves.set(id, t = recording.leaf({ kind, key }, shape));
      return t;
    };
    const features = (layer: string) => {
      const shape = shapes.features[layer];
      if (!shape) {
        throw new OptionError(
          `layer "${layer}" was read but not declared by the plugin's layers(); declare every layer it reads`,
        );
      }
      return leaf("features", layer, shape);
    };
    const mask = (layer: string) => {
      readMask = true;
      const shape = shapes.mask[layer];
      return shape ? leaf("mask", layer, shape) : undefined;
    };
    const targets = Object.fromEntries(
      Object.entries(shapes.targets).map(([k, s]) => [k, leaf("targets", k, s)]),
    );
    const statistics = Object.fromEntries(
      Object.entries(shapes.statistics ?? {}).map(([k, s]) => [k, leaf("statistics", k, s)]),
    );
    // A content plugin's reference has its features' shape.
    const reference = (layer: string) =>
      leaf("reference", layer, features(layer).shape as number[]);
    const network = request.network;
    current = recording;
    let result: unknown;
    try {
      switch (request.fn) {
        case "statistics":
          if (!spec.statistics) return { error: "the plugin has no statistics()" };
          result = await spec.statistics({ features, mask, reference, network }, request.options);
          break;
        case "targets":
          result = await spec.targets!({ features, mask, statistics, network }, request.options);
          break;
        case "cost":
          result = await spec.cost({
            features,
            targets,
            mask,
            statistics,
            // Only the shape: no stand-in is recorded for it.
            shape: (layer) => {
              const known = shapes.features[layer];
              if (!known) {
                throw new OptionError(
                  `layer "${layer}" was read but not declared by the plugin's layers(); declare every layer it reads`,
                );
              }
              return known;
            },
            network,
          }, request.options);
      }
    } finally {
      current = undefined;
    }
    // What it returned, checked here, where its code is.
    const bad = request.fn === "cost"
      ? !(result instanceof Tensor) && `cost returned ${describe(result)}, not a tensor expression`
      : (typeof result !== "object" || result === null ||
        Object.values(result).some((t) => !(t instanceof Tensor))) &&
        `${request.fn} returned ${describe(result)}, not an object of tensor expressions`;
    if (bad) return { error: bad };
    return { steps: recording.steps, result: recording.encode(result), readMask };
  } catch (e) {
    const line = moduleLine(e);
    return {
      error: e instanceof Error ? e.message.split("\n")[0] : String(e),
      ...(line ? { line } : {}),
    };
  }
}

const describe = (v: unknown) =>
  v === null
    ? "null"
    : Array.isArray(v)
    ? "an array"
    : v instanceof Tensor
    ? "a tensor"
    : `a ${typeof v}`;

/** Replays a recording with the real tensors; every call goes through `api` again. */
export function replay(
  answer: { steps: RecordedStep[]; result: Wire },
  options: { api: Readonly<Record<string, unknown>>; leaf: (leaf: Leaf) => Tensor | undefined },
): unknown {
  if (answer.steps.length > MAX_CALLS) {
    throw new OptionError(`the graph is too big: over ${MAX_CALLS} operations`);
  }
  const values: Tensor[] = [];
  // The replaying side's own budget: the sandbox that recorded may lie about its limits.
  let constants = 0;
  let work = 0;
  const decode = (w: Wire): unknown => {
    if (w === null || typeof w !== "object") return w ?? undefined;
    if (Array.isArray(w)) return w.map(decode);
    if ("$t" in w && typeof w.$t === "number") {
      const t = values[w.$t];
      if (!t) throw new OptionError("the recording refers to a tensor it has not made");
      return t;
    }
    if ("$f32" in w && Array.isArray(w.$f32)) {
      constants += w.$f32.length;
      if (constants > MAX_CONSTANT_VALUES) {
        throw new OptionError(`too many constant values: over ${MAX_CONSTANT_VALUES}`);
      }
      return Float32Array.from(w.$f32 as number[]);
    }
    return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, decode(v)]));
  };
  for (const step of answer.steps) {
    let t: unknown;
    if ("leaf" in step) {
      t = options.leaf(step.leaf);
      if (!t) {
        throw new OptionError(
          `the recording reads ${step.leaf.kind} "${step.leaf.key}", which is not there`,
        );
      }
    } else {
      const fn = EXPRESSION_FUNCTIONS.includes(step.call) ? options.api[step.call] : undefined;
      if (typeof fn !== "function") {
        throw new OptionError(
          `the recording calls "${step.call}", which is not in the stylegram API`,
        );
      }
      const args = step.args.map(decode);
      if (step.call === "constant" && Array.isArray(args[0])) {
        constants += (args[0] as unknown[]).flat(8).length;
        if (constants > MAX_CONSTANT_VALUES) {
          throw new OptionError(`too many constant values: over ${MAX_CONSTANT_VALUES}`);
        }
      }
      t = (fn as (...a: unknown[]) => unknown)(...args);
      if (t instanceof Tensor) work += multiplyAdds(step.call, t, args);
      if (work > MAX_MULTIPLY_ADDS) {
        throw new OptionError(
          `the graph is too much work: over ${MAX_MULTIPLY_ADDS} multiply-adds`,
        );
      }
    }
    if (!(t instanceof Tensor)) {
      throw new OptionError(
        `the recording's step "${"call" in step ? step.call : "leaf"}" made no tensor`,
      );
    }
    if (t.size > MAX_TENSOR_ELEMENTS) {
      throw new OptionError(
        `the graph makes a tensor of ${t.size} elements (at most ${MAX_TENSOR_ELEMENTS})`,
      );
    }
    values.push(t);
  }
  return decode(answer.result);
}

/** Multiply-adds of a matrix product or convolution that made `out` (0 for other ops). */
function multiplyAdds(call: string, out: Tensor, args: unknown[]): number {
  const [a, b] = args;
  if (call === "matmul" && a instanceof Tensor) return out.size * a.shape[a.rank - 1];
  if (call === "conv2d" && b instanceof Tensor) {
    return out.size * b.shape.slice(1).reduce((x, y) => x * y, 1);
  }
  if (call === "gramMatrix" && a instanceof Tensor) return out.size * a.shape[2] * a.shape[3];
  return 0;
}

/** How the compiling side asks the sandbox. */
export type AskSandbox = (request: PluginRequest) => Promise<PluginAnswer>;

/** What a recording's stand-ins stand for on the compiling side, by kind. */
interface LeafSources {
  features(layer: string): Tensor;
  mask(layer: string): Tensor | undefined;
  reference?(layer: string): Tensor;
  statistics?: Readonly<Record<string, Tensor>>;
  targets?: Readonly<Record<string, Tensor>>;
}

/** Resolves a recording's stand-ins from what the call has (undefined for what it has not). */
function leavesOf(sources: LeafSources): (leaf: Leaf) => Tensor | undefined {
  return ({ kind, key }) => {
    switch (kind) {
      case "features":
        return sources.features(key);
      case "mask":
        return sources.mask(key);
      case "reference":
        return sources.reference?.(key);
      case "statistics":
        return sources.statistics?.[key];
      case "targets":
        return sources.targets?.[key];
    }
  };
}

/**
 * A plugin whose code runs in the sandbox: its options are the described
 * records; `layers` answers from what {@linkcode prepareRemotePlugin} asked
 * beforehand (it is needed at once, without waiting); `targets` and `cost`
 * ask the sandbox and replay its recording.
 */
export function remotePlugin(
  description: PluginDescription,
  options: { ask: AskSandbox; api: Readonly<Record<string, unknown>> },
): Plugin & { prepare(use: PluginOptions, network: NetworkInfo): Promise<void> } {
  const layersOf = new Map<string, string[]>();
  const keyOf = (o: PluginOptions, network: NetworkInfo) => JSON.stringify([o, network.name]);
  const answerOf = async (request: PluginRequest) => {
    const answer = await options.ask(request);
    if ("error" in answer) {
      throw new OptionError(answer.line ? `line ${answer.line}: ${answer.error}` : answer.error);
    }
    return answer;
  };
  const shapeMap = (entries: [string, readonly number[]][]) =>
    Object.fromEntries(entries.map(([k, v]) => [k, [...v]]));
  const maskShapes = (layers: readonly string[], mask: (l: string) => Tensor | undefined) =>
    shapeMap(layers.flatMap((l) => {
      const m = mask(l);
      return m ? [[l, m.shape] as [string, readonly number[]]] : [];
    }));
  const tensorShapes = (ts: Readonly<Record<string, Tensor>>) =>
    shapeMap(Object.entries(ts).map(([k, t]) => [k, t.shape]));
  const ask = async (
    fn: "statistics" | "targets" | "cost",
    o: PluginOptions,
    network: NetworkInfo,
    shapes: Shapes,
    leaf: (l: Leaf) => Tensor | undefined,
  ) => {
    const answer = await answerOf({ fn, plugin: description.name, options: o, network, shapes });
    if (!("steps" in answer)) throw new OptionError("the sandbox answered something else");
    return replay(answer, { api: options.api, leaf });
  };
  const layersFor = (o: PluginOptions, network: NetworkInfo): string[] => {
    const layers = layersOf.get(keyOf(o, network));
    if (!layers) throw new OptionError("its layers were not asked for before the run (prepare)");
    return layers;
  };
  const hasStatistics = description.statistics === true;
  const withTargets = hasStatistics ? description.targets === true : !!description.reference;
  const plugin = definePlugin<PluginOptions>({
    name: description.name,
    description: description.description,
    options: description.options,
    ...(description.reference ? { reference: description.reference } : {}),
    ...(description.blend ? { blend: description.blend } : {}),
    layers: layersFor,
    ...(hasStatistics
      ? {
        statistics: async ({ features, mask, reference, network }, o) => {
          const layers = layersFor(o, network);
          const shapes: Shapes = {
            features: shapeMap(layers.map((l) => [l, features(l).shape])),
            mask: maskShapes(layers, mask),
            targets: {},
          };
          return await ask(
            "statistics",
            o,
            network,
            shapes,
            leavesOf({ features, mask, reference }),
          ) as Record<string, Tensor>;
        },
      }
      : {}),
    ...(withTargets
      ? {
        targets: async ({ features, mask, statistics, network }, o) => {
          const layers = layersFor(o, network);
          // A plugin with statistics makes its targets from them, not from features.
          const shapes: Shapes = {
            features: hasStatistics ? {} : shapeMap(layers.map((l) => [l, features(l).shape])),
            mask: maskShapes(layers, mask),
            targets: {},
            statistics: tensorShapes(statistics),
          };
          return await ask(
            "targets",
            o,
            network,
            shapes,
            leavesOf({ features, mask, statistics }),
          ) as Record<string, Tensor>;
        },
      }
      : {}),
    cost: async ({ features, targets, mask, statistics, shape, network }, o) => {
      const layers = layersFor(o, network);
      const shapes: Shapes = {
        features: shapeMap(layers.map((l) => [l, hasStatistics ? shape(l) : features(l).shape])),
        mask: hasStatistics ? {} : maskShapes(layers, mask),
        targets: tensorShapes(targets),
        statistics: tensorShapes(statistics),
      };
      return await ask(
        "cost",
        o,
        network,
        shapes,
        leavesOf({ features, mask, statistics, targets }),
      ) as Tensor;
    },
  });
  return Object.assign(plugin, {
    async prepare(o: PluginOptions, network: NetworkInfo) {
      const answer = await answerOf({
        fn: "layers",
        plugin: description.name,
        options: o,
        network,
      });
      if (!("layers" in answer)) throw new OptionError("the sandbox answered something else");
      layersOf.set(keyOf(o, network), answer.layers);
    },
  });
}
