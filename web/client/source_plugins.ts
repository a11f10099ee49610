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
  const result = await pagePort.load(sources);
  if ("problem" in result) return result.problem;
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
