/**
 * Declarative option schemas for plugins: each option has a kind, a default,
 * its allowed values and a one-line description. Schemas validate JSON input
 * (recipes, share links, CLI flags) and produce help texts.
 *
 * @module
 */

/** Thrown when an option value is not allowed; the message names the owner and the option. */
export class OptionError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "OptionError";
  }
}

/** One option: how to check a value and what it defaults to. */
export interface OptionSpec<T> {
  /** The kind, for help texts and user interfaces. */
  readonly kind: "number" | "integer" | "boolean" | "choice" | "layers";
  /** The default value. */
  readonly default: T;
  /** One line saying what the option does. */
  readonly description: string;
  /** Allowed values, for help texts (e.g. `≥ 0`, `half | size`). */
  readonly allowed: string;
  /** Returns the checked value, or throws a message (without the owner's name) saying what is allowed. */
  parse(value: unknown): T;
}

/** A set of named options. */
export type OptionSchema = Readonly<Record<string, OptionSpec<unknown>>>;

/** The option values a schema describes. */
export type OptionValues<S extends OptionSchema> = { -readonly [K in keyof S]: S[K]["default"] };

/** A value as error messages show it: JSON, shortened; NaN and ±Infinity by name. */
export const showValue = (v: unknown): string => {
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** Options of {@linkcode numberOption}. */
export interface NumberOptionInit {
  /** Default value. */
  default: number;
  /** What it does. */
  description: string;
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  /** Whether `min` itself is excluded (e.g. a scale must be > 0). */
  exclusiveMin?: boolean;
}

function range(init: NumberOptionInit): string {
  const lo = init.min === undefined ? "" : `${init.exclusiveMin ? ">" : "≥"} ${init.min}`;
  const hi = init.max === undefined ? "" : `≤ ${init.max}`;
  return [lo, hi].filter(Boolean).join(" and ") || "any finite number";
}

function checkNumber(value: unknown, init: NumberOptionInit, integer: boolean): number {
  const kind = integer ? "an integer" : "a number";
  if (
    typeof value !== "number" || !Number.isFinite(value) || (integer && !Number.isInteger(value))
  ) {
    throw new OptionError(`must be ${kind} (${range(init)}), got ${showValue(value)}`);
  }
  const low = init.min !== undefined && (init.exclusiveMin ? value <= init.min : value < init.min);
  if (low || (init.max !== undefined && value > init.max)) {
    throw new OptionError(`must be ${range(init)}, got ${showValue(value)}`);
  }
  return value;
}

/** A finite number within bounds. */
export function numberOption(init: NumberOptionInit): OptionSpec<number> {
  return {
    kind: "number",
    default: init.default,
    description: init.description,
    allowed: range(init),
    parse: (v) => checkNumber(v, init, false),
  };
}

/** An integer within bounds. */
export function integerOption(init: NumberOptionInit): OptionSpec<number> {
  return {
    kind: "integer",
    default: init.default,
    description: init.description,
    allowed: `integer ${range(init)}`,
    parse: (v) => checkNumber(v, init, true),
  };
}

/** true or false. */
export function booleanOption(
  init: { default: boolean; description: string },
): OptionSpec<boolean> {
  return {
    kind: "boolean",
    default: init.default,
    description: init.description,
    allowed: "true | false",
    parse: (v) => {
      if (typeof v !== "boolean") {
        throw new OptionError(`must be true or false, got ${showValue(v)}`);
      }
      return v;
    },
  };
}

/** One of a fixed list of strings. */
export function choiceOption<const V extends string>(
  values: readonly V[],
  init: { default: V; description: string },
): OptionSpec<V> {
  return {
    kind: "choice",
    default: init.default,
    description: init.description,
    allowed: values.join(" | "),
    parse: (v) => {
      if (typeof v !== "string" || !values.includes(v as V)) {
        throw new OptionError(`must be one of ${values.join(", ")}, got ${showValue(v)}`);
      }
      return v as V;
    },
  };
}

/** A layer of the feature network with its weight in a cost. */
export interface LayerWeight {
  /** Layer name (`relu4_2`, `mixed1`, …) or `image` for the raw pixels. */
  layer: string;
  /** Weight of that layer's term (≥ 0). */
  weight: number;
}

/**
 * Feature layers with weights. The value `"style"` or `"content"` stands for
 * the network's recommended layers, resolved when the objective is compiled;
 * plain names get weight 1 each.
 */
export type LayerSelection = "style" | "content" | LayerWeight[];

/** A list of layers with weights, or the network's recommended style/content layers. */
export function layersOption(
  init: { default: "style" | "content"; description: string },
): OptionSpec<LayerSelection> {
  return {
    kind: "layers",
    default: init.default,
    description: init.description,
    allowed: `"style" | "content" | ["relu1_1", …] | [{ "layer": "relu1_1", "weight": 0.2 }, …]`,
    parse: (v) => {
      if (v === "style" || v === "content") return v;
      if (!Array.isArray(v) || v.length === 0) {
        throw new OptionError(
          `must be "style", "content" or a non-empty list of layers, got ${showValue(v)}`,
        );
      }
      return v.map((item) => {
        const entry = typeof item === "string" ? { layer: item, weight: 1 } : item;
        if (
          typeof entry !== "object" || entry === null || typeof entry.layer !== "string" ||
          entry.layer === ""
        ) {
          throw new OptionError(`has an entry that is not a layer name: ${showValue(item)}`);
        }
        if (
          typeof entry.weight !== "number" || !Number.isFinite(entry.weight) || entry.weight < 0
        ) {
          throw new OptionError(
            `weight of layer ${entry.layer} must be a number ≥ 0, got ${showValue(entry.weight)}`,
          );
        }
        return { layer: entry.layer, weight: entry.weight };
      });
    },
  };
}

/**
 * Checks `values` against `schema`: fills defaults, rejects unknown keys and
 * bad values. `owner` (e.g. `plugin style`) starts every error message.
 */
export function parseOptions<S extends OptionSchema>(
  schema: S,
  values: unknown,
  owner: string,
): OptionValues<S> {
  if (
    values !== undefined && (typeof values !== "object" || values === null || Array.isArray(values))
  ) {
    throw new OptionError(`${owner}: options must be an object, got ${showValue(values)}`);
  }
  const given = (values ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(key in schema)) {
      throw new OptionError(
        `${owner}: unknown option "${key}" (options: ${Object.keys(schema).join(", ") || "none"})`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    if (given[key] === undefined) {
      out[key] = structuredClone(spec.default);
      continue;
    }
    try {
      out[key] = spec.parse(given[key]);
    } catch (e) {
      if (e instanceof OptionError) {
        throw new OptionError(`${owner}: option ${key} ${e.message}`);
      }
      throw e;
    }
  }
  return out as OptionValues<S>;
}
