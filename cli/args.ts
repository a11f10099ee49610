/**
 * Command-line arguments: the option table (one source for parsing and for
 * `--help`), parsing with `node:util`'s parseArgs, and turning flags into a
 * recipe on top of the defaults or a `--recipe` file.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  BACKEND_CHOICES,
  DEFAULT_PLUGINS,
  type PluginUseJson,
  type Recipe,
  SETTINGS_SCHEMA,
} from "../mod.ts";

/** A usage mistake: printed with a hint to run --help, exit status 2. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

interface Flag {
  /** Long name without dashes. */
  name: string;
  /** One-letter alias. */
  short?: string;
  /** Value placeholder; absent for switches. */
  value?: string;
  /** May be given more than once. */
  multiple?: boolean;
  /** Help text (the default is appended from the schema where there is one). */
  help: string;
  /** Default shown in help, when not from the schema. */
  shown?: string;
  /** Help section. */
  section: "output" | "costs" | "optimisation" | "network" | "run" | "recipes";
}

const S = SETTINGS_SCHEMA;
const dflt = (v: unknown) => Array.isArray(v) ? v.join(",") || "equal" : String(v);
const weightOf = (name: string) => DEFAULT_PLUGINS.find((p) => p.plugin === name)?.weight;

/** Every flag, in help order. */
export const FLAGS: readonly Flag[] = [
  {
    name: "output",
    short: "o",
    value: "FILE",
    section: "output",
    help: "output image (.png, .jpg, .webp)",
    shown: "required",
  },
  {
    name: "size",
    short: "s",
    value: "PX",
    section: "output",
    help: S.size.description,
    shown: dflt(S.size.default),
  },
  {
    name: "texture",
    section: "output",
    help: "texture synthesis: every image is a style image, no content",
  },
  {
    name: "aspect",
    value: "W/H",
    section: "output",
    help: S.aspect.description,
    shown: dflt(S.aspect.default),
  },
  {
    name: "save-every",
    value: "N",
    section: "output",
    help: "also save the image every N iterations (OUT_s<scale>_<iteration>.ext)",
    shown: "0 (off)",
  },
  { name: "quality", value: "Q", section: "output", help: "JPEG/WebP quality 1–100", shown: "92" },
  {
    name: "content-weight",
    value: "W",
    section: "costs",
    help: "weight α of the content cost",
    shown: dflt(weightOf("content")),
  },
  {
    name: "style-weight",
    value: "W",
    section: "costs",
    help: "weight β of the style cost",
    shown: dflt(weightOf("style")),
  },
  {
    name: "tv-weight",
    value: "W",
    section: "costs",
    help: "weight γ of total variation (0 = off)",
    shown: dflt(weightOf("tv")),
  },
  {
    name: "style-blend",
    value: "W,W,…",
    section: "costs",
    help: "blend weights of the style images",
    shown: "equal",
  },
  {
    name: "style-scale",
    value: "X",
    section: "costs",
    help: "style image size relative to the output",
    shown: "1",
  },
  {
    name: "content-layers",
    value: "L,L,…",
    section: "costs",
    help: "content layers (default: the network's)",
  },
  {
    name: "style-layers",
    value: "L,L,…",
    section: "costs",
    help: "style layers (default: the network's)",
  },
  { name: "preserve-colors", section: "costs", help: S.preserveColors.description },
  {
    name: "plugin",
    value: "MODULE",
    multiple: true,
    section: "costs",
    help: "load cost plugins exported by a module (use them in a --recipe)",
  },
  {
    name: "iterations",
    short: "n",
    value: "N",
    section: "optimisation",
    help: S.iterations.description,
    shown: dflt(S.iterations.default),
  },
  {
    name: "scales",
    value: "N",
    section: "optimisation",
    help: S.scales.description,
    shown: dflt(S.scales.default),
  },
  {
    name: "min-size",
    value: "PX",
    section: "optimisation",
    help: S.minSize.description,
    shown: dflt(S.minSize.default),
  },
  {
    name: "optimizer",
    value: "NAME",
    section: "optimisation",
    help: "lbfgs or adam",
    shown: dflt(S.optimizer.default),
  },
  {
    name: "history",
    value: "N",
    section: "optimisation",
    help: S.history.description,
    shown: dflt(S.history.default),
  },
  {
    name: "learning-rate",
    value: "R",
    section: "optimisation",
    help: S.learningRate.description,
    shown: dflt(S.learningRate.default),
  },
  {
    name: "average",
    value: "D",
    section: "optimisation",
    help: S.average.description,
    shown: dflt(S.average.default),
  },
  {
    name: "init",
    value: "KIND",
    section: "optimisation",
    help: "content, noise, gray, or image (with --init-image)",
    shown: dflt(S.init.default),
  },
  {
    name: "noise",
    value: "A",
    section: "optimisation",
    help: S.noise.description,
    shown: dflt(S.noise.default),
  },
  {
    name: "init-image",
    value: "FILE",
    section: "optimisation",
    help: "starting image for --init image",
  },
  {
    name: "seed",
    value: "N",
    section: "optimisation",
    help: S.seed.description,
    shown: dflt(S.seed.default),
  },
  {
    name: "network",
    value: "NAME",
    section: "network",
    help: "auto, inception, vgg19, vgg16, random, tiny, or a .safetensors/.onnx VGG file",
    shown: dflt(S.network.default),
  },
  {
    name: "normalise",
    section: "network",
    help: "Gatys' mean-activation normalisation of VGG (measured on the images)",
  },
  {
    name: "pooling",
    value: "KIND",
    section: "network",
    help: "VGG pooling: max or avg (auto = max)",
    shown: dflt(S.pooling.default),
  },
  {
    name: "backend",
    value: "NAME",
    section: "run",
    help: BACKEND_CHOICES.join(", "),
    shown: dflt(S.backend.default),
  },
  {
    name: "threads",
    value: "N",
    section: "run",
    help: "CPU threads for wasm and native",
    shown: "all cores",
  },
  {
    name: "max-pixels",
    value: "N",
    section: "run",
    help: "refuse input images with more pixels",
    shown: "100000000",
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

/** Parsed command line. */
export interface CliArgs {
  /** Positional arguments (images). */
  images: string[];
  /** Flag values by long name (strings, booleans, or string lists for repeatable flags). */
  flags: Record<string, string | boolean | string[] | undefined>;
}

/** Parses `argv`; unknown or malformed flags become {@linkcode UsageError}s. */
export function parseCommandLine(argv: readonly string[]): CliArgs {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const f of FLAGS) {
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

function number(flags: CliArgs["flags"], name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n)) {
    throw new UsageError(`--${name} needs a number, got ${JSON.stringify(v)}`);
  }
  return n;
}

function list(flags: CliArgs["flags"], name: string): string[] | undefined {
  const v = flags[name];
  if (typeof v !== "string") return undefined;
  const items = v.split(",").map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new UsageError(`--${name} needs a comma-separated list`);
  return items;
}

/** Sets (or, with weight 0, removes) the weight of the first use of `plugin`. */
function setWeight(
  plugins: PluginUseJson[],
  plugin: string,
  weight: number | undefined,
): PluginUseJson[] {
  if (weight === undefined) return plugins;
  const i = plugins.findIndex((p) => p.plugin === plugin);
  if (weight === 0) return plugins.filter((_, k) => k !== i);
  if (i < 0) return [...plugins, { plugin, weight }];
  return plugins.map((p, k) => (k === i ? { ...p, weight } : p));
}

function setOption(
  plugins: PluginUseJson[],
  plugin: string,
  key: string,
  value: unknown,
): PluginUseJson[] {
  if (value === undefined) return plugins;
  return plugins.map((p) =>
    p.plugin === plugin ? { ...p, options: { ...p.options, [key]: value } } : p
  );
}

/**
 * The recipe JSON the flags describe, on top of `base` (defaults or a loaded
 * recipe). Values are checked later, by `parseRecipe`, with messages naming
 * the field.
 */
export function applyFlags(
  base: Record<string, unknown>,
  flags: CliArgs["flags"],
): Record<string, unknown> {
  const r: Record<string, unknown> = { ...base };
  const set = (key: keyof Recipe, v: unknown) => v !== undefined && (r[key] = v);
  set("size", number(flags, "size"));
  set("aspect", number(flags, "aspect"));
  set("iterations", number(flags, "iterations"));
  set("scales", number(flags, "scales"));
  set("minSize", number(flags, "min-size"));
  set("optimizer", flags.optimizer);
  set("history", number(flags, "history"));
  set("learningRate", number(flags, "learning-rate"));
  set("average", number(flags, "average"));
  set("init", flags.init);
  set("noise", number(flags, "noise"));
  set("seed", number(flags, "seed"));
  set("network", flags.network);
  set("pooling", flags.pooling);
  set("backend", flags.backend);
  if (flags["preserve-colors"]) r.preserveColors = true;
  if (flags.normalise) r.normalise = true;
  const blend = list(flags, "style-blend");
  if (blend) {
    r.styleWeights = blend.map((w) => {
      const n = Number(w);
      if (!Number.isFinite(n)) {
        throw new UsageError(`--style-blend needs numbers, got ${JSON.stringify(w)}`);
      }
      return n;
    });
  }
  let plugins = structuredClone(
    (base.plugins as PluginUseJson[] | undefined) ?? [...DEFAULT_PLUGINS],
  );
  plugins = setWeight(plugins, "content", number(flags, "content-weight"));
  plugins = setWeight(plugins, "style", number(flags, "style-weight"));
  plugins = setWeight(plugins, "tv", number(flags, "tv-weight"));
  plugins = setOption(plugins, "style", "scale", number(flags, "style-scale"));
  plugins = setOption(plugins, "content", "layers", list(flags, "content-layers"));
  plugins = setOption(plugins, "style", "layers", list(flags, "style-layers"));
  if (flags.texture) plugins = plugins.filter((p) => p.plugin !== "content");
  r.plugins = plugins;
  return r;
}

const SECTIONS: Record<Flag["section"], string> = {
  output: "Output",
  costs: "Costs",
  optimisation: "Optimisation",
  network: "Network",
  run: "Running",
  recipes: "Recipes",
};

/** The `--help` text. */
export function helpText(version: string): string {
  const lines = [
    `stylegram ${version}: neural style transfer (Gatys et al.)`,
    "",
    "Usage:",
    "  deno run -A cli.ts CONTENT STYLE [STYLE…] -o OUT [options]",
    "  deno run -A cli.ts --texture STYLE [STYLE…] -o OUT [options]",
    "",
  ];
  for (const [section, title] of Object.entries(SECTIONS)) {
    lines.push(`${title}:`);
    for (const f of FLAGS.filter((f) => f.section === section)) {
      const name = `${f.short ? `-${f.short}, ` : "    "}--${f.name}${
        f.value ? ` ${f.value}` : ""
      }`;
      const shown = f.shown ? ` [default: ${f.shown}]` : "";
      lines.push(`  ${name.padEnd(30)} ${f.help}${shown}`);
    }
    lines.push("");
  }
  lines.push(
    "Examples:",
    "  deno run -A cli.ts examples/cat.jpg examples/kandinsky.jpg -o out.png",
    "  deno run -A cli.ts photo.jpg a.jpg b.jpg --style-blend 0.7,0.3 --size 768 -o out.webp",
    "  deno run -A cli.ts --texture examples/great_wave.jpg --size 512 --aspect 2 -o texture.png",
    "  deno run -A cli.ts photo.jpg wave.jpg --save-recipe r.json -o a.png && \\",
    "    deno run -A cli.ts photo.jpg wave.jpg --recipe r.json --seed 2 -o b.png",
  );
  return lines.join("\n");
}
