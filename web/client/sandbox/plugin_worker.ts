/**
 * The worker inside the plugin sandbox: the only place playground plugin
 * code runs. It transpiles each module (sucrase), runs it against a
 * recording copy of the authoring API, describes the plugins it exports,
 * and answers the compiling side's questions with recordings. It has an
 * opaque origin and a policy without network access; its host stops it when
 * an answer takes too long.
 *
 * @module
 */

import { transform } from "sucrase";
import {
  ModuleError,
  moduleLine,
  pluginsFromModule,
  type PluginSource,
  transpileModule,
} from "../../../core/plugin_module.ts";
import {
  answerPluginRequest,
  describePlugin,
  type PluginAnswer,
  recordingApi,
} from "../../../core/remote_plugin.ts";
import type { Plugin } from "../../../core/plugin.ts";
import { AUTHORING_API } from "./authoring_api.ts";
import type { FromSandbox, SourceProblem, ToSandbox } from "./protocol.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ToSandbox>) => void) | null;
  postMessage(message: FromSandbox): void;
};
const api = recordingApi(AUTHORING_API);
// Plugin code may not start workers of its own (whose time no limit would watch).
for (const name of ["Worker", "SharedWorker"]) {
  Object.defineProperty(globalThis, name, { value: undefined, configurable: false });
}
let plugins = new Map<string, Plugin>();
/** Each plugin's transpiled module (lines as in the source), to point at its functions. */
let scripts = new Map<string, string>();

/** The line where a plugin's `targets` or `cost` function is written, if it can be found. */
function lineOfFunction(
  plugin: string,
  fn: "statistics" | "targets" | "cost" | "layers",
): number | undefined {
  const script = scripts.get(plugin);
  const code = plugins.get(plugin)?.spec[fn]?.toString();
  const at = script && code ? script.indexOf(code) : -1;
  return at >= 0 ? script!.slice(0, at).split("\n").length : undefined;
}

function load(
  sources: PluginSource[],
): { plugins: Map<string, Plugin>; scripts: Map<string, string> } | { problem: SourceProblem } {
  const found = new Map<string, Plugin>();
  const texts = new Map<string, string>();
  for (const source of sources) {
    try {
      const script = transpileModule(source, transform);
      for (const p of pluginsFromModule(script, { name: source.name, api })) {
        if (found.has(p.name)) throw new Error(`two plugins are named "${p.name}"`);
        found.set(p.name, p);
        texts.set(p.name, script);
      }
    } catch (e) {
      // Beside the code, the module's name and line are said by the panel itself.
      const message = e instanceof ModuleError ? e.detail : (e as Error).message;
      const line = e instanceof ModuleError ? e.line : moduleLine(e);
      return { problem: { source: source.name, message, ...(line ? { line } : {}) } };
    }
  }
  return { plugins: found, scripts: texts };
}

scope.onmessage = async (event) => {
  const m = event.data as ToSandbox | { type: "ping" };
  if (m.type === "ping") {
    (scope.postMessage as (m: unknown) => void)({ type: "pong" });
    return;
  }
  if (m.type === "load") {
    const result = load(m.sources);
    if ("problem" in result) {
      scope.postMessage({ type: "load-error", id: m.id, problem: result.problem });
      return;
    }
    plugins = result.plugins;
    scripts = result.scripts;
    scope.postMessage({
      type: "loaded",
      id: m.id,
      plugins: [...plugins.values()].map(describePlugin),
    });
  } else if (m.type === "ask") {
    let answer: PluginAnswer;
    try {
      answer = await answerPluginRequest(m.request, plugins);
      if ("error" in answer && !answer.line) {
        const line = lineOfFunction(m.request.plugin, m.request.fn);
        if (line) answer = { ...answer, line };
      }
    } catch (e) {
      answer = { error: (e as Error).message };
    }
    scope.postMessage({ type: "answer", id: m.id, answer });
  }
};
