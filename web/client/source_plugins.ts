/**
 * The playground's own plugin modules: loading them into the sandbox and
 * offering their plugins beside the built-ins. On the page a plugin is only
 * its description (its option records make its cost card); its code runs in
 * the sandbox, asked by the worker during a run.
 *
 * @module
 */

import { BUILTIN_PLUGINS, definePlugin, OptionError, type Plugin } from "../../mod.ts";
import type { PluginSource } from "../../core/plugin_module.ts";
import type { PluginDescription } from "../../core/remote_plugin.ts";
import { askOver, PluginSandbox } from "./plugin_sandbox.ts";
import type { SourceProblem } from "./sandbox/protocol.ts";
import type { PlaygroundState } from "./state.ts";

const KINDS = new Set(["number", "integer", "boolean", "choice", "layers", "list", "string"]);
const text = (v: unknown, max: number) => typeof v === "string" && v.length <= max;

/**
 * A description from the sandbox, rebuilt from checked fields only: the
 * sandbox runs untrusted code, so what it says about a plugin is data to
 * check, like any input (plain strings, numbers, known kinds, bounded sizes).
 */
export function checkedDescription(d: unknown): PluginDescription {
  const bad = (what: string) => new OptionError(`the plugin's description: ${what}`);
  if (typeof d !== "object" || d === null) throw bad("not an object");
  const { name, description, reference, blend, options, statistics, targets } = d as Record<
    string,
    unknown
  >;
  if (statistics !== undefined && statistics !== true) throw bad("its statistics");
  if (targets !== undefined && targets !== true) throw bad("its targets");
  if (typeof name !== "string" || !/^[a-z][a-z0-9_-]{0,63}$/.test(name)) throw bad("its name");
  if (!text(description, 500)) throw bad("its description");
  if (reference !== undefined && reference !== "content" && reference !== "style") {
    throw bad("its reference");
  }
  if (blend !== undefined && blend !== "targets" && blend !== "costs") throw bad("its blend");
  if (typeof options !== "object" || options === null || Object.keys(options).length > 32) {
    throw bad("its options");
  }
  const records: PluginDescription["options"] = {};
  for (const [key, r] of Object.entries(options)) {
    if (
      !/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(key) || key === "__proto__" || key === "constructor"
    ) {
      throw bad(`option name "${key.slice(0, 40)}"`);
    }
    const o = r as Record<string, unknown>;
    if (typeof o !== "object" || o === null || !KINDS.has(o.kind as string)) {
      throw bad(`option ${key}: its kind`);
    }
    if (!text(o.description, 500)) throw bad(`option ${key}: its description`);
    for (const f of ["min", "max", "step"]) {
      if (o[f] !== undefined && typeof o[f] !== "number") throw bad(`option ${key}: ${f}`);
    }
    const choices = o.choices;
    if (
      choices !== undefined &&
      (!Array.isArray(choices) || choices.length > 64 || !choices.every((c) => text(c, 100)))
    ) throw bad(`option ${key}: its choices`);
    const labels = o.choiceLabels;
    if (
      labels !== undefined &&
      (typeof labels !== "object" || labels === null ||
        !Object.values(labels).every((l) => text(l, 100)))
    ) throw bad(`option ${key}: its choice labels`);
    if (JSON.stringify(o.default ?? null).length > 4096) throw bad(`option ${key}: its default`);
    records[key] = {
      kind: o.kind,
      default: structuredClone(o.default),
      description: o.description,
      ...(text(o.label, 100) ? { label: o.label } : {}),
      ...(typeof o.min === "number" ? { min: o.min } : {}),
      ...(typeof o.max === "number" ? { max: o.max } : {}),
      ...(o.exclusiveMin === true ? { exclusiveMin: true } : {}),
      ...(typeof o.step === "number" ? { step: o.step } : {}),
      ...(choices ? { choices: [...(choices as string[])] } : {}),
      ...(labels ? { choiceLabels: { ...(labels as Record<string, string>) } } : {}),
      ...(text(o.group, 40) ? { group: o.group } : {}),
      ...(o.advanced === true ? { advanced: true } : {}),
    } as PluginDescription["options"][string];
  }
  return {
    name,
    description: description as string,
    options: records,
    ...(reference ? { reference } : {}),
    ...(blend ? { blend } : {}),
    ...(statistics ? { statistics: true, ...(targets ? { targets: true } : {}) } : {}),
  } as PluginDescription;
}

/** A page-side stand-in: the description, and code that says where it really runs. */
function standIn(d: PluginDescription): Plugin {
  const elsewhere = () => {
    throw new OptionError(`plugin ${d.name} runs in the sandbox, not on the page`);
  };
  return definePlugin({
    name: d.name,
    description: d.description,
    options: d.options,
    ...(d.reference ? { reference: d.reference, targets: elsewhere } : {}),
    ...(d.blend ? { blend: d.blend } : {}),
    layers: elsewhere,
    cost: elsewhere,
  });
}

let pagePort: ReturnType<typeof askOver> | undefined;

/**
 * Loads modules into the sandbox. On success the state offers their plugins
 * (the built-ins' names stay the built-ins'); on a problem, nothing changes.
 */
export async function loadSources(
  state: PlaygroundState,
  sources: PluginSource[],
): Promise<SourceProblem | undefined> {
  const sandbox = await PluginSandbox.open();
  pagePort ??= askOver(sandbox.connect());
  const answer = await pagePort.load(sources);
  if ("problem" in answer) return answer.problem;
  let result: { plugins: PluginDescription[] };
  try {
    result = { plugins: answer.plugins.map(checkedDescription) };
  } catch (e) {
    return { source: sources[0]?.name ?? "plugin", message: (e as Error).message };
  }
  const taken = result.plugins.find((p) => BUILTIN_PLUGINS.has(p.name));
  if (taken) {
    return {
      source: sources[0]?.name ?? "plugin",
      message: `a built-in plugin is named "${taken.name}"; give yours another name`,
    };
  }
  state.sourcePlugins.value = result.plugins;
  state.plugins.value = new Map([
    ...BUILTIN_PLUGINS,
    ...result.plugins.map((d) => [d.name, standIn(d)] as const),
  ]);
  return undefined;
}
