/**
 * Command-line arguments. The flag table is made from the option records:
 * one flag per run setting in `SETTINGS_SCHEMA`, the CLI's own flags (also
 * records, so one function checks every value), and shorthands for common
 * cost edits. `--help` lists them with the loaded plugins and their options;
 * `--cost NAME=WEIGHT[,OPTION=VALUE…]` edits any plugin's term by its
 * records. Flags turn into a recipe on top of the defaults or a `--recipe`
 * file.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  integerOption,
  type OptionSpec,
  type Plugin,
  type Settings,
  SETTINGS_SCHEMA,
} from "../mod.ts";
import { checkOption, kebabKey } from "../core/options.ts";
import type { PluginUseJson } from "../core/plugin.ts";
import { DEFAULT_PLUGINS } from "../core/recipe.ts";
import { DEFAULT_MAX_PIXELS } from "../io.ts";
import { describeMemory } from "./memory.ts";

/** A usage mistake: printed with a hint to run --help, exit status 2. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Help sections, in order. */
const SECTIONS = {
  output: "Output",
  costs: "Costs",
  optimisation: "Optimisation",
  network: "Network",
  run: "Running",
  recipes: "Recipes",
  video: "Video (cli.ts video)",
} as const;

/** A section of `--help`. */
export type Section = keyof typeof SECTIONS;

/** One flag of the command line. */
export interface Flag {
  /** Long name without dashes. */
  name: string;
  /** One-letter alias. */
  short?: string;
  /** Value placeholder; absent for switches. */
  value?: string;
  /** May be given more than once. */
  multiple?: boolean;
  /** Help text. */
  help: string;
  /** The default as `--help` shows it. */
  shown?: string;
  /** Help section. */
  section: Section;
  /** Listed before the section's settings in `--help`. */
  lead?: boolean;
  /** The record that checks a number value (the CLI's own numeric flags). */
  spec?: OptionSpec<number>;
  /** The run setting it sets, for flags made from the settings records. */
  setting?: keyof Settings;
  /** A shorthand for a cost edit: the plugin, and the option it sets (else the weight). */
  cost?: { plugin: string; option?: string };
}

/** The placeholder of a value in `--help`, by kind. */
function placeholder(spec: OptionSpec): string {
  switch (spec.kind) {
    case "integer":
      return "N";
    case "number":
      return "X";
    case "boolean":
      return "true|false";
    case "choice":
      return (spec.choices ?? []).join("|");
    case "layers":
      return "L,L,…";
    case "list":
      return "X,X,…";
    case "string":
      return "TEXT";
  }
}

/** A default as help shows it. */
const shownValue = (v: unknown) => Array.isArray(v) ? v.join(",") || "equal" : String(v);

/** The help of a record: its description, and its named values if it has them. */
function helpOf(spec: OptionSpec): string {
  return spec.choices?.length
    ? `${spec.description} (${spec.choices.join(" | ")})`
    : spec.description;
}

/** The flags made from the run settings' records. */
function settingFlags(): Flag[] {
  return Object.entries(SETTINGS_SCHEMA).flatMap(([key, spec]): Flag[] => {
    if (spec.cli === false) return [];
    const hints = spec.cli ?? {};
    const section = (spec.group && spec.group in SECTIONS ? spec.group : "run") as Section;
    return [{
      name: hints.name ?? kebabKey(key),
      short: hints.short,
      value: spec.kind === "boolean" ? undefined : hints.value ?? placeholder(spec),
      help: helpOf(spec),
      shown: spec.kind === "boolean"
        ? undefined
        : key === "maxMemory"
        ? describeMemory(spec.default as string)
        : shownValue(spec.default),
      section,
      setting: key as keyof Settings,
    }];
  });
}

const defaultWeight = (plugin: string) =>
  String(DEFAULT_PLUGINS.find((p) => p.plugin === plugin)?.weight ?? 1);

/** The CLI's own flags and the cost shorthands, by section. */
const OWN_FLAGS: readonly Flag[] = [
  {
    name: "output",
    lead: true,
    short: "o",
    value: "FILE",
    section: "output",
    help: "output image (.png, .jpg, .webp); never one of the inputs",
    shown: "required",
  },
  {
    name: "texture",
    section: "output",
    help: "texture synthesis: every image is a style image, no content",
  },
  {
    name: "save-every",
    value: "N",
    section: "output",
    help: "also save the image every N iterations (OUT_s<scale>_<iteration>.ext)",
    shown: "0 (off)",
    spec: integerOption({ default: 0, min: 0, description: "save every N iterations" }),
  },
  {
    name: "quality",
    value: "Q",
    section: "output",
    help: "JPEG/WebP quality",
    shown: "92",
    spec: integerOption({ default: 92, min: 1, max: 100, description: "JPEG/WebP quality" }),
  },
  {
    name: "plugin",
    lead: true,
    value: "MODULE",
    multiple: true,
    section: "costs",
    help: "load the cost plugins a module exports (then use them with --cost)",
  },
  {
    name: "cost",
    lead: true,
    value: "NAME=W[,OPT=V…]",
    multiple: true,
    section: "costs",
    help: "add or change a cost term: weight and options (W = 0 removes it); see Cost plugins",
  },
  {
    name: "content-weight",
    lead: true,
    value: "W",
    section: "costs",
    help: "weight α of the content cost (--cost content=W)",
    shown: defaultWeight("content"),
    cost: { plugin: "content" },
  },
  {
    name: "style-weight",
    lead: true,
    value: "W",
    section: "costs",
    help: "weight β of the style cost (--cost style=W)",
    shown: defaultWeight("style"),
    cost: { plugin: "style" },
  },
  {
    name: "tv-weight",
    lead: true,
    value: "W",
    section: "costs",
    help: "weight γ of total variation, 0 = off (--cost tv=W)",
    shown: defaultWeight("tv"),
    cost: { plugin: "tv" },
  },
  {
    name: "style-scale",
    lead: true,
    value: "X",
    section: "costs",
    help: "style image size relative to the output (style option scale)",
    shown: "1",
    cost: { plugin: "style", option: "scale" },
  },
  {
    name: "content-layers",
    lead: true,
    value: "L,L,…",
    section: "costs",
    help: "content layers, NAME or NAME:WEIGHT (default: the network's)",
    cost: { plugin: "content", option: "layers" },
  },
  {
    name: "style-layers",
    lead: true,
    value: "L,L,…",
    section: "costs",
    help: "style layers, NAME or NAME:WEIGHT (default: the network's)",
    cost: { plugin: "style", option: "layers" },
  },
  {
    name: "style-mask",
    value: "FILE",
    multiple: true,
    section: "costs",
    help: "where a style image goes (white: this style), one per style image in order; " +
      "none skips one, and a style without a mask takes what the others leave",
  },
  {
    name: "style-source-mask",
    value: "FILE",
    multiple: true,
    section: "costs",
    help:
      "the part of a style image that is matched, one per style image in order (none skips one)",
  },
  {
    name: "content-mask",
    value: "FILE",
    section: "costs",
    help: "the content cost's weight per pixel (grey level = weight)",
  },
  {
    name: "init-image",
    value: "FILE",
    section: "optimisation",
    help: "starting image for --init image",
  },
  {
    name: "threads",
    value: "N",
    section: "run",
    help: "CPU threads for wasm and native",
    shown: "all cores",
    spec: integerOption({ default: 1, min: 1, description: "CPU threads" }),
  },
  {
    name: "max-pixels",
    value: "N",
    section: "run",
    help: "refuse input images with more pixels",
    shown: String(DEFAULT_MAX_PIXELS),
    spec: integerOption({ default: DEFAULT_MAX_PIXELS, min: 1, description: "pixel limit" }),
  },
  {
    name: "json",
    section: "run",
    help: "one JSON object per line on stdout (progress, then a summary)",
  },
  { name: "quiet", short: "q", section: "run", help: "no progress output" },
  {
    name: "recipe",
    value: "FILE",
    section: "recipes",
    help: "load settings and cost plugins from a recipe (flags override it)",
  },
  { name: "save-recipe", value: "FILE", section: "recipes", help: "write the recipe of this run" },
  { name: "help", short: "h", section: "run", help: "show this help" },
  { name: "version", short: "V", section: "run", help: "show the version" },
];

/** Every flag: the CLI's own, then one per run setting. */
export const FLAGS: readonly Flag[] = [...OWN_FLAGS, ...settingFlags()];

/** Parsed command line. */
export interface CliArgs {
  /** Positional arguments (images). */
  images: string[];
  /** Flag values by long name (strings, booleans, or string lists for repeatable flags). */
  flags: Record<string, string | boolean | string[] | undefined>;
}

/** Parses `argv`; unknown or malformed flags become {@linkcode UsageError}s. */
export function parseCommandLine(argv: readonly string[], flags = FLAGS): CliArgs {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const f of flags) {
    options[f.name] = {
      type: f.value ? "string" : "boolean",
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
    };
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      allowPositionals: true,
      strict: true,
    });
    return { images: positionals, flags: values as CliArgs["flags"] };
  } catch (e) {
    const text = (e as Error).message.split("\n")[0].replace(/\. To specify a positional.*$/, "");
    throw new UsageError(text.replace(/^Unknown option '(.*)'$/, "unknown option $1"));
  }
}

/** A number from text, or a usage error naming `what`. */
function toNumber(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n)) {
    throw new UsageError(`${what} needs a number, got ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * The value of one of the CLI's own numeric flags, checked by its record;
 * the record's default when the flag is absent.
 */
export function numberFlag(
  flags: CliArgs["flags"],
  name: string,
  known: readonly Flag[] = FLAGS,
): number {
  const spec = known.find((f) => f.name === name)!.spec!;
  const v = flags[name];
  if (typeof v !== "string") return spec.default;
  return checked(spec, toNumber(v, `--${name}`), `--${name}`) as number;
}

/**
 * A value from text for a record: numbers parsed, lists split on commas
 * (`parts` are the comma-separated pieces), layers as `NAME` or
 * `NAME:WEIGHT`. `what` names the flag in messages. The record then checks
 * the value.
 */
function valueFor(spec: OptionSpec, parts: readonly string[], what: string): unknown {
  const one = () => {
    if (parts.length !== 1) throw new UsageError(`${what} takes one value, got ${parts.join(",")}`);
    return parts[0];
  };
  switch (spec.kind) {
    case "number":
    case "integer":
      return toNumber(one(), what);
    case "boolean": {
      const v = one();
      if (v !== "true" && v !== "false") {
        throw new UsageError(`${what} must be true or false, got ${JSON.stringify(v)}`);
      }
      return v === "true";
    }
    case "choice":
    case "string":
      return one();
    case "list":
      return parts.map((p) => toNumber(p, what));
    case "layers":
      if (parts.length === 1 && (parts[0] === "style" || parts[0] === "content")) return parts[0];
      return parts.map((p) => {
        const [layer, weight] = p.split(":");
        return weight === undefined ? layer : { layer, weight: toNumber(weight, what) };
      });
  }
}

/** Checks a value by its record, as a usage error starting with `prefix`. */
function checked(spec: OptionSpec, value: unknown, prefix: string): unknown {
  try {
    return checkOption(spec, value);
  } catch (e) {
    throw new UsageError(`${prefix} ${(e as Error).message}`);
  }
}

const items = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean);

/** One change to the cost terms, from `--cost` or a shorthand. */
export interface CostEdit {
  /** The flag it came from, for messages. */
  flag: string;
  /** The plugin's name. */
  plugin: string;
  /** The new weight (0 removes the term); absent: keep it. */
  weight?: number;
  /** Options to set. */
  options: Record<string, unknown>;
}

const knownPlugins = (plugins: ReadonlyMap<string, Plugin>) => [...plugins.keys()].join(", ");

/**
 * Parses `NAME=WEIGHT[,OPTION=VALUE…]`. A piece without `=` continues the
 * list of the option before it (`layers=relu1_1,relu2_1`). Every value is
 * checked by the plugin's own records.
 */
export function parseCost(text: string, plugins: ReadonlyMap<string, Plugin>): CostEdit {
  const [head = "", ...rest] = items(text);
  const eq = head.indexOf("=");
  if (eq < 1) {
    throw new UsageError(`--cost ${text}: give NAME=WEIGHT[,OPTION=VALUE…], e.g. style=100`);
  }
  const name = head.slice(0, eq);
  const plugin = plugins.get(name);
  if (!plugin) {
    throw new UsageError(`--cost: unknown plugin "${name}" (plugins: ${knownPlugins(plugins)})`);
  }
  const owner = `--cost: plugin ${name}:`;
  const weight = toNumber(head.slice(eq + 1), `${owner} the weight`);
  if (weight < 0) throw new UsageError(`${owner} weight must be a number ≥ 0, got ${weight}`);
  const given = new Map<string, string[]>();
  let last: string | undefined;
  for (const piece of rest) {
    const at = piece.indexOf("=");
    if (at < 0) {
      const kind = last && plugin.spec.options[last]?.kind;
      if (kind !== "layers" && kind !== "list") {
        throw new UsageError(`${owner} "${piece}" is not OPTION=VALUE`);
      }
      given.get(last!)!.push(piece);
      continue;
    }
    last = piece.slice(0, at);
    if (!Object.hasOwn(plugin.spec.options, last)) {
      const names = Object.keys(plugin.spec.options).join(", ") || "none";
      throw new UsageError(`${owner} unknown option "${last}" (options: ${names})`);
    }
    given.set(last, [piece.slice(at + 1)]);
  }
  const options: Record<string, unknown> = {};
  for (const [key, parts] of given) {
    const spec = plugin.spec.options[key];
    const what = `${owner} option ${key}`;
    options[key] = checked(spec, valueFor(spec, parts, what), what);
  }
  return { flag: "--cost", plugin: name, weight, options };
}

/** The edit a shorthand flag (`--style-weight 100`, `--style-layers a,b`) stands for. */
function shorthandEdit(
  flag: Flag,
  text: string,
  plugins: ReadonlyMap<string, Plugin>,
): CostEdit {
  const { plugin, option } = flag.cost!;
  const what = `--${flag.name}`;
  if (!option) {
    const weight = toNumber(text, what);
    if (weight < 0) throw new UsageError(`${what} must be a number ≥ 0, got ${weight}`);
    return { flag: what, plugin, weight, options: {} };
  }
  const spec = plugins.get(plugin)?.spec.options[option];
  if (!spec) throw new UsageError(`${what}: no plugin ${plugin} with an option ${option}`);
  return {
    flag: what,
    plugin,
    options: { [option]: checked(spec, valueFor(spec, items(text), what), what) },
  };
}

/** Applies one edit: sets the weight and options of the plugin's first term, adds or removes it. */
function applyCost(terms: PluginUseJson[], edit: CostEdit): PluginUseJson[] {
  const i = terms.findIndex((p) => p.plugin === edit.plugin);
  if (edit.weight === 0) return terms.filter((_, k) => k !== i);
  if (i < 0) {
    if (edit.weight === undefined) {
      throw new UsageError(
        `${edit.flag}: the recipe has no ${edit.plugin} cost; add one with --cost ${edit.plugin}=WEIGHT`,
      );
    }
    const options = Object.keys(edit.options).length ? { options: edit.options } : {};
    return [...terms, { plugin: edit.plugin, weight: edit.weight, ...options }];
  }
  return terms.map((p, k) =>
    k === i
      ? { ...p, weight: edit.weight ?? p.weight, options: { ...p.options, ...edit.options } }
      : p
  );
}

/** The value of a setting's flag, checked by the setting's record. */
function settingValue(flag: Flag, raw: string | boolean): unknown {
  const spec = SETTINGS_SCHEMA[flag.setting!] as OptionSpec;
  if (typeof raw === "boolean") return raw;
  const what = `--${flag.name}`;
  const parts = spec.kind === "list" ? items(raw) : [raw];
  if (spec.kind === "list" && parts.length === 0) {
    throw new UsageError(`${what} needs a comma-separated list`);
  }
  return checked(spec, valueFor(spec, parts, what), what);
}

/** Options of {@linkcode applyFlags}. */
export interface ApplyFlagsOptions {
  /** The plugins the recipe may name (built-ins and those from --plugin). */
  plugins: ReadonlyMap<string, Plugin>;
  /** The command's flags (default {@linkcode FLAGS}). */
  flags?: readonly Flag[];
}

/**
 * The recipe JSON the flags describe, on top of `base` (defaults or a loaded
 * recipe): settings from their flags, then the cost shorthands, then each
 * `--cost` in order. `--texture` drops the terms that need a content image.
 */
export function applyFlags(
  base: Record<string, unknown>,
  flags: CliArgs["flags"],
  options: ApplyFlagsOptions,
): Record<string, unknown> {
  const { plugins } = options;
  const known = options.flags ?? FLAGS;
  const r: Record<string, unknown> = { ...base };
  for (const flag of known) {
    const raw = flags[flag.name];
    if (flag.setting && (typeof raw === "string" || raw === true)) {
      r[flag.setting] = settingValue(flag, raw);
    }
  }
  const edits = [
    ...known.filter((f) => f.cost && typeof flags[f.name] === "string")
      .map((f) => shorthandEdit(f, flags[f.name] as string, plugins)),
    ...((flags.cost as string[] | undefined) ?? []).map((text) => parseCost(text, plugins)),
  ];
  let terms = structuredClone(
    (base.plugins as PluginUseJson[] | undefined) ?? [...DEFAULT_PLUGINS],
  );
  for (const edit of edits) terms = applyCost(terms, edit);
  if (flags.texture) {
    terms = terms.filter((p) => plugins.get(p.plugin)?.spec.reference !== "content");
  }
  r.plugins = terms;
  return r;
}

function flagLine(name: string, help: string, shown?: string, indent = 2): string {
  const tail = shown === undefined ? "" : ` [default: ${shown}]`;
  return `${" ".repeat(indent)}${name.padEnd(32 - indent)} ${help}${tail}`;
}

/** The plugins' section of `--help`: each plugin with its options, from their records. */
function pluginHelp(plugins: ReadonlyMap<string, Plugin>): string[] {
  const defaults = DEFAULT_PLUGINS.map((p) =>
    `--cost ${
      [`${p.plugin}=${p.weight}`, ...Object.entries(p.options ?? {}).map(([k, v]) => `${k}=${v}`)]
        .join(",")
    }`
  );
  const lines = [
    "Cost plugins (--cost NAME=WEIGHT[,OPTION=VALUE…]; a list continues after commas):",
    `  the default terms: ${defaults.join(" ")}`,
  ];
  for (const plugin of plugins.values()) {
    lines.push(`  ${plugin.name}: ${plugin.spec.description}`);
    for (const [key, spec] of Object.entries(plugin.spec.options)) {
      const value = spec.kind === "layers" ? "L[:W],L[:W],…" : placeholder(spec);
      lines.push(flagLine(`${key}=${value}`, helpOf(spec), shownValue(spec.default), 6));
    }
  }
  return lines;
}

/** Options of {@linkcode helpText}. */
export interface HelpOptions {
  /** The plugins to list (built-ins and those from --plugin). */
  plugins: ReadonlyMap<string, Plugin>;
  /** The command's flags (default {@linkcode FLAGS}). */
  flags?: readonly Flag[];
  /** Its usage lines (default the image command's). */
  usage?: readonly string[];
  /** Its examples (default the image command's). */
  examples?: readonly string[];
}

/** The `--help` text. */
export function helpText(version: string, options: HelpOptions): string {
  const flags = options.flags ?? FLAGS;
  const lines = [
    `stylegram ${version}: neural style transfer (Gatys et al.)`,
    "",
    "Usage:",
    ...(options.usage ?? [
      "  deno run -A cli.ts CONTENT STYLE [STYLE…] -o OUT [options]",
      "  deno run -A cli.ts --texture STYLE [STYLE…] -o OUT [options]",
      "  deno run -A cli.ts video IN STYLE [STYLE…] -o OUT [options]   (see video --help)",
      "  deno run -A cli.ts batch IMAGE… --style STYLE -o DIR [options] (see batch --help)",
      "  deno run -A cli.ts worker --redis URL                         (see worker --help)",
    ]),
    "",
  ];
  for (const [section, title] of Object.entries(SECTIONS)) {
    const inSection = flags.filter((f) => f.section === section);
    if (!inSection.length) continue;
    lines.push(`${title}:`);
    const ordered = [
      ...inSection.filter((f) => f.lead),
      ...inSection.filter((f) => f.setting),
      ...inSection.filter((f) => !f.lead && !f.setting),
    ];
    for (const f of ordered) {
      const name = `${f.short ? `-${f.short}, ` : "    "}--${f.name}${
        f.value ? ` ${f.value}` : ""
      }`;
      lines.push(flagLine(name, f.help, f.shown));
    }
    lines.push("");
  }
  lines.push(...pluginHelp(options.plugins), "");
  lines.push("Examples:", ...(options.examples ?? IMAGE_EXAMPLES));
  return lines.join("\n");
}

const IMAGE_EXAMPLES = [
  "  deno run -A cli.ts examples/cat.jpg examples/kandinsky.jpg -o out.png",
  "  deno run -A cli.ts photo.jpg a.jpg b.jpg --style-blend 0.7,0.3 --size 768 -o out.webp",
  "  deno run -A cli.ts photo.jpg wave.jpg --cost style=100,scale=1.5 --cost tv=0 -o out.png",
  "  deno run -A cli.ts photo.jpg wave.jpg --plugin my_cost.ts --cost mine=20 -o out.png",
  "  deno run -A cli.ts --texture examples/great_wave.jpg --size 512 --aspect 2 -o texture.png",
  "  deno run -A cli.ts photo.jpg wave.jpg --save-recipe r.json -o a.png && \\",
  "    deno run -A cli.ts photo.jpg wave.jpg --recipe r.json --seed 2 -o b.png",
];
