/**
 * Messages to and from the plugin sandbox (the iframe and the worker inside
 * it). Everything is plain data: code goes in as text, plugin descriptions
 * and recordings come out.
 *
 * @module
 */

import type { PluginSource } from "../../../core/plugin_module.ts";
import type {
  PluginAnswer,
  PluginDescription,
  PluginRequest,
} from "../../../core/remote_plugin.ts";

/** To the sandbox (over a port from `connect`). */
export type ToSandbox =
  | { type: "load"; id: number; sources: PluginSource[] }
  | { type: "ask"; id: number; request: PluginRequest };

/** A problem with a module: its name, the message, and the source line when known. */
export interface SourceProblem {
  /** The module's name. */
  source: string;
  /** One line. */
  message: string;
  /** 1-based line in the module, if known. */
  line?: number;
}

/** From the sandbox. */
export type FromSandbox =
  | { type: "loaded"; id: number; plugins: PluginDescription[] }
  | { type: "load-error"; id: number; problem: SourceProblem }
  | { type: "answer"; id: number; answer: PluginAnswer };
