/**
 * Options as data. Every option — a run setting or a plugin's option — is a
 * plain record: its kind, default, bounds or choices, a one-line
 * description, and where a browser differs. One function checks values
 * against a record ({@linkcode checkOption}); the CLI's flags and `--help`,
 * recipe validation, the server's share check and the playground's forms
 * are all made from the same records, so no bound is written twice.
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

/**
 * What an option holds: `number`, `integer`, `boolean`, `choice` (one of
 * `choices`), `layers` ({@linkcode LayerSelection}), `list` (numbers, each
 * within `min`…`max`) or `string` (any non-empty text; `choices`, if given,
 * are the named values).
 */
export type OptionKind = "number" | "integer" | "boolean" | "choice" | "layers" | "list" | "string";

/**
 * How a browser narrows an option: tighter bounds, fewer choices, another
 * default (e.g. a smaller size), each replacing the option's own.
 */
export interface BrowserLimits {
  /** Smallest value in a browser. */
  readonly min?: number;
  /** Largest value in a browser. */
  readonly max?: number;
  /** The choices a browser can honour (e.g. no `native` backend). */
  readonly choices?: readonly string[];
  /** The default in a browser. */
  readonly default?: unknown;
}

/** How the command line shows an option; `false` on the record: no flag. */
export interface CliHints {
  /** Flag name without dashes (default: the key in kebab-case, `minSize` → `min-size`). */
  readonly name?: string;
  /** One-letter alias. */
  readonly short?: string;
  /** Value placeholder in `--help` (default from the kind: `N`, `X`, `NAME`, …). */
  readonly value?: string;
}

/** One option, as plain data. */
export interface OptionSpec<T = unknown> {
  /** What it holds. */
  readonly kind: OptionKind;
  /** The default value. */
  readonly default: T;
  /** One line saying what the option does. */
  readonly description: string;
  /** A short name for forms (default: the key in words). */
  readonly label?: string;
  /** Smallest value (numbers; each item of a list), inclusive unless `exclusiveMin`. */
  readonly min?: number;
  /** Largest value (numbers; each item of a list), inclusive. */
  readonly max?: number;
  /** Whether `min` itself is excluded (e.g. a scale must be > 0). */
  readonly exclusiveMin?: boolean;
  /** Step of form inputs (numbers). */
  readonly step?: number;
  /** `choice`: the allowed values; `string`: the named values (others allowed too). */
  readonly choices?: readonly string[];
  /** Words for choices in forms, by value (default: the value itself). */
  readonly choiceLabels?: Readonly<Record<string, string>>;
  /** Where a browser differs; `false`: a browser cannot honour it (it must stay at its default). */
  readonly browser?: false | BrowserLimits;
  /** Section of `--help` and of forms (`output`, `optimisation`, `network`, …). */
  readonly group?: string;
  /** Forms show it under "more settings". */
  readonly advanced?: boolean;
  /** How the command line shows it; `false`: no flag. */
  readonly cli?: false | CliHints;
}

/** A set of named options. */
export type OptionSchema = Readonly<Record<string, OptionSpec<unknown>>>;

/** The option values a schema describes. */
export type OptionValues<S extends OptionSchema> = { -readonly [K in keyof S]: S[K]["default"] };

/** Where values are checked: `browser` applies each record's {@linkcode BrowserLimits}. */
export interface CheckOptions {
  /** Check against what a browser can run. */
  browser?: boolean;
}

/**
 * An option key in kebab-case (`minSize` → `min-size`): its flag name on the
 * command line and its field id in forms.
 */
export const kebabKey = (key: string): string =>
  key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A value as error messages show it: JSON, shortened; NaN and ±Infinity by name. */
export const showValue = (v: unknown): string => {
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/**
 * The record as it applies in a browser (bounds, choices and default
 * replaced by its browser limits), or `undefined` when a browser cannot
 * honour it. Without `browser`, the record itself.
 */
export function effectiveSpec<T>(
  spec: OptionSpec<T>,
  options: CheckOptions = {},
): OptionSpec<T> | undefined {
  if (!options.browser || spec.browser === undefined) return spec;
  if (spec.browser === false) return undefined;
  const { min, max, choices } = spec.browser;
  return {
    ...spec,
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
    ...(choices === undefined
      ? {}
      : { choices, kind: spec.kind === "string" ? "choice" : spec.kind }),
    default: (spec.browser.default ?? spec.default) as T,
  };
}

/** The bounds of a number as words: `≥ 0.05 and ≤ 8`, `> 0`, `any finite number`. */
function range(spec: OptionSpec<unknown>): string {
  const lo = spec.min === undefined ? "" : `${spec.exclusiveMin ? ">" : "≥"} ${spec.min}`;
  const hi = spec.max === undefined ? "" : `≤ ${spec.max}`;
  return [lo, hi].filter(Boolean).join(" and ") || "any finite number";
}

function inRange(value: number, spec: OptionSpec<unknown>): boolean {
  const low = spec.min !== undefined && (spec.exclusiveMin ? value <= spec.min : value < spec.min);
  return !low && !(spec.max !== undefined && value > spec.max);
}

function checkNumber(value: unknown, spec: OptionSpec<unknown>, where: string): number {
  const integer = spec.kind === "integer";
  if (
    typeof value !== "number" || !Number.isFinite(value) || (integer && !Number.isInteger(value))
  ) {
    const kind = integer ? "an integer" : "a number";
    throw new OptionError(`must be ${kind} (${range(spec)})${where}, got ${showValue(value)}`);
  }
  if (!inRange(value, spec)) {
    throw new OptionError(`must be ${range(spec)}${where}, got ${showValue(value)}`);
  }
  return value;
}

function checkLayers(value: unknown): LayerSelection {
  if (value === "style" || value === "content") return value;
  if (!Array.isArray(value) || value.length === 0) {
    throw new OptionError(
      `must be "style", "content" or a non-empty list of layers, got ${showValue(value)}`,
    );
  }
  return value.map((item) => {
    const entry = typeof item === "string" ? { layer: item, weight: 1 } : item;
    if (
      typeof entry !== "object" || entry === null || typeof entry.layer !== "string" ||
      entry.layer === ""
    ) {
      throw new OptionError(`has an entry that is not a layer name: ${showValue(item)}`);
    }
    if (typeof entry.weight !== "number" || !Number.isFinite(entry.weight) || entry.weight < 0) {
      throw new OptionError(
        `weight of layer ${entry.layer} must be a number ≥ 0, got ${showValue(entry.weight)}`,
      );
    }
    return { layer: entry.layer, weight: entry.weight };
  });
}

/**
 * Checks one value against its record and returns it (a fresh copy for
 * lists). Throws an {@linkcode OptionError} whose message, without the
 * owner's name, says what is allowed (`must be ≥ 0 and ≤ 1, got 7`).
 */
export function checkOption<T>(spec: OptionSpec<T>, value: unknown, options: CheckOptions = {}): T {
  const where = options.browser && spec.browser !== undefined ? " in a browser" : "";
  const s = effectiveSpec(spec, options);
  if (!s) {
    // A browser cannot honour it: only its default passes.
    if (JSON.stringify(value) === JSON.stringify(spec.default)) {
      return structuredClone(spec.default);
    }
    throw new OptionError(
      `cannot be set in a browser (it must stay ${showValue(spec.default)}), got ${
        showValue(value)
      }`,
    );
  }
  switch (s.kind) {
    case "number":
    case "integer":
      return checkNumber(value, s, where) as T;
    case "boolean":
      if (typeof value !== "boolean") {
        throw new OptionError(`must be true or false, got ${showValue(value)}`);
      }
      return value as T;
    case "choice": {
      const choices = s.choices ?? [];
      if (typeof value !== "string" || !choices.includes(value)) {
        throw new OptionError(
          `must be one of ${choices.join(", ")}${where}, got ${showValue(value)}`,
        );
      }
      return value as T;
    }
    case "string":
      if (typeof value !== "string" || value.trim() === "") {
        throw new OptionError(`must be a non-empty text, got ${showValue(value)}`);
      }
      return value as T;
    case "layers":
      return checkLayers(value) as T;
    case "list":
      if (
        !Array.isArray(value) ||
        value.some((v) => typeof v !== "number" || !Number.isFinite(v) || !inRange(v, s))
      ) {
        throw new OptionError(
          `must be a list of numbers ${range(s)}${where}, got ${showValue(value)}`,
        );
      }
      return [...value] as T;
  }
}

/** Options of {@linkcode parseOptions}. */
export interface ParseOptionsOptions extends CheckOptions {
  /** Starts every error message (e.g. `plugin style`, `recipe`). */
  owner: string;
}

/**
 * Checks `values` against `schema`: fills defaults, rejects unknown keys
 * (own keys only: `toString` or `__proto__` are unknown, not inherited) and
 * bad values, each message starting with `options.owner`.
 */
export function parseOptions<S extends OptionSchema>(
  schema: S,
  values: unknown,
  options: ParseOptionsOptions,
): OptionValues<S> {
  const { owner } = options;
  if (
    values !== undefined && (typeof values !== "object" || values === null || Array.isArray(values))
  ) {
    throw new OptionError(`${owner}: options must be an object, got ${showValue(values)}`);
  }
  const given = (values ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(schema, key)) {
      throw new OptionError(
        `${owner}: unknown option "${key}" (options: ${Object.keys(schema).join(", ") || "none"})`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    if (given[key] === undefined) {
      out[key] = structuredClone(effectiveSpec(spec, options)?.default ?? spec.default);
      continue;
    }
    try {
      out[key] = checkOption(spec, given[key], options);
    } catch (e) {
      if (e instanceof OptionError) {
        throw new OptionError(`${owner}: option ${key} ${e.message}`);
      }
      throw e;
    }
  }
  return out as OptionValues<S>;
}

/** The fields every option builder takes besides the default and the bounds. */
type Presentation = Pick<
  OptionSpec,
  "label" | "browser" | "group" | "advanced" | "cli" | "step" | "choiceLabels"
>;

/** Options of {@linkcode numberOption} and {@linkcode integerOption}. */
export interface NumberOptionInit extends Presentation {
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

/** A finite number within bounds. */
export function numberOption(init: NumberOptionInit): OptionSpec<number> {
  return { kind: "number", ...init };
}

/** An integer within bounds. */
export function integerOption(init: NumberOptionInit): OptionSpec<number> {
  return { kind: "integer", ...init };
}

/** true or false. */
export function booleanOption(
  init: { default: boolean; description: string } & Presentation,
): OptionSpec<boolean> {
  return { kind: "boolean", ...init };
}

/** One of a fixed list of strings. */
export function choiceOption<const V extends string>(
  values: readonly V[],
  init: { default: V; description: string } & Presentation,
): OptionSpec<V> {
  return { kind: "choice", choices: [...values], ...init };
}

/** Any non-empty text; `choices` names the usual values (a file path, say, is allowed too). */
export function stringOption(
  init: { default: string; description: string; choices?: readonly string[] } & Presentation,
): OptionSpec<string> {
  return { kind: "string", ...init };
}

/** A list of numbers, each within `min`…`max`. */
export function listOption(
  init: { default: number[]; description: string; min?: number; max?: number } & Presentation,
): OptionSpec<number[]> {
  return { kind: "list", ...init };
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
  init: { default: "style" | "content"; description: string } & Presentation,
): OptionSpec<LayerSelection> {
  return { kind: "layers", ...init };
}
