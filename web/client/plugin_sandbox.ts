/**
 * The page's side of the plugin sandbox: a hidden iframe with an opaque
 * origin (see `sandbox/host.ts`), and message ports to it — one for the page
 * (loading modules, to describe their plugins) and one per run for the
 * worker that compiles the objective.
 *
 * @module
 */

import type { PluginSource } from "../../core/plugin_module.ts";
import type { AskSandbox, PluginDescription } from "../../core/remote_plugin.ts";
import type { FromSandbox, SourceProblem, ToSandbox } from "./sandbox/protocol.ts";

/** Asks over a port to the sandbox, one answer per question. */
export function askOver(port: MessagePort): {
  ask: AskSandbox;
  load(
    sources: PluginSource[],
  ): Promise<{ plugins: PluginDescription[] } | { problem: SourceProblem }>;
} {
  let next = 1;
  const waiting = new Map<number, (m: FromSandbox) => void>();
  port.onmessage = (e: MessageEvent<FromSandbox>) => {
    waiting.get(e.data.id)?.(e.data);
    waiting.delete(e.data.id);
  };
  const send = (m: Omit<ToSandbox, "id">) =>
    new Promise<FromSandbox>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      port.postMessage({ ...m, id });
    });
  return {
    async ask(request) {
      const m = await send({ type: "ask", request } as Omit<ToSandbox, "id">);
      return m.type === "answer" ? m.answer : { error: "the sandbox answered something else" };
    },
    async load(sources) {
      const m = await send({ type: "load", sources } as Omit<ToSandbox, "id">);
      if (m.type === "loaded") return { plugins: m.plugins };
      if (m.type === "load-error") return { problem: m.problem };
      // An answer here is the host's: the worker was stopped (too slow).
      const error = m.type === "answer" && "error" in m.answer ? m.answer.error : "no answer";
      return { problem: { source: sources[0]?.name ?? "plugin", message: error } };
    },
  };
}

/** The page's sandbox: made once, on first use. */
export class PluginSandbox {
  static #opening: Promise<PluginSandbox> | undefined;
  /** The sandbox once it is open (a run needs it at once, without waiting). */
  static current: PluginSandbox | undefined;
  readonly #frame: HTMLIFrameElement;

  private constructor(frame: HTMLIFrameElement) {
    this.#frame = frame;
  }

  /** The sandbox, once its page says it is ready. */
  static open(): Promise<PluginSandbox> {
    PluginSandbox.#opening ??= new Promise((resolve, reject) => {
      const frame = document.createElement("iframe");
      // Scripts only: no same origin, so no cookies, storage or page access.
      frame.setAttribute("sandbox", "allow-scripts");
      frame.src = "/sandbox";
      frame.title = "plugin sandbox";
      frame.hidden = true;
      const timer = setTimeout(() => reject(new Error("the plugin sandbox did not start")), 15_000);
      addEventListener("message", function ready(e) {
        if (e.source !== frame.contentWindow || e.data?.type !== "ready") return;
        removeEventListener("message", ready);
        clearTimeout(timer);
        PluginSandbox.current = new PluginSandbox(frame);
        resolve(PluginSandbox.current);
      });
      document.body.append(frame);
    });
    return PluginSandbox.#opening;
  }

  /** A fresh port to the sandbox (transfer it to a worker, or use it here with `askOver`). */
  connect(): MessagePort {
    const channel = new MessageChannel();
    this.#frame.contentWindow!.postMessage({ type: "connect" }, "*", [channel.port2]);
    return channel.port1;
  }
}
