/**
 * Runs stylisations in the worker and turns its messages into state; shares
 * finished runs with the server.
 *
 * @module
 */

import type { FromWorker, PlanarImage, ToWorker } from "./protocol.ts";
import { encodePng } from "./images.ts";
import { PluginSandbox } from "./plugin_sandbox.ts";
import { rememberDeleteToken } from "./share_tokens.ts";
import { isPainted, maskRgba, styleMasks } from "./mask_paint.ts";
import type { PlaygroundProps, PlaygroundState } from "./state.ts";
import type { Recipe } from "../../mod.ts";
import { browserNotice, browserText } from "./wording.ts";

/**
 * The recipe as it runs: without a content image (a texture), the terms that
 * need one are left out.
 */
export function runnableRecipe(state: PlaygroundState): Recipe {
  const recipe = structuredClone(state.recipe.value);
  const plugins = state.plugins.value;
  if (!state.content.value) {
    recipe.plugins = recipe.plugins.filter((p) =>
      plugins.get(p.plugin)?.spec.reference !== "content"
    );
  }
  return recipe;
}

/** Each style image's painted mask, or undefined when nothing is painted (or no content image). */
function paintedMasks(state: PlaygroundState): (Float32Array | undefined)[] | undefined {
  const paint = state.masks.value;
  const content = state.content.value;
  if (!content || !isPainted(paint)) return undefined;
  if (paint!.width !== content.width || paint!.height !== content.height) return undefined;
  return styleMasks(paint!, state.styles.value.length);
}

/** Starts and stops runs of one playground. */
export class Runner {
  readonly #state: PlaygroundState;
  readonly #assets: PlaygroundProps["assets"];
  #worker: Worker | undefined;
  #recent: number[] = [];
  #from: string | undefined;

  /** A runner for `state`, using the bundled worker and network at `assets`. */
  constructor(state: PlaygroundState, assets: PlaygroundProps["assets"]) {
    this.#state = state;
    this.#assets = assets;
  }

  /** Starts a run of the current recipe and images. */
  start(): void {
    const s = this.#state;
    // The result will be of these inputs, whatever changes while it runs.
    this.#from = inputsKey(s);
    const styles = s.styles.value;
    const content = s.content.value;
    const plugins = s.plugins.value;
    const needsStyle = s.recipe.value.plugins.some((p) =>
      plugins.get(p.plugin)?.spec.reference === "style"
    );
    if (needsStyle && !styles.length) {
      s.status.value = { phase: "error", message: "add a style image first" };
      return;
    }
    const problem = s.problem.value;
    if (problem) {
      s.status.value = { phase: "error", message: problem };
      return;
    }
    const recipe = runnableRecipe(s);
    const planar = (i: { width: number; height: number; planar: Float32Array }): PlanarImage => ({
      width: i.width,
      height: i.height,
      data: i.planar.slice(),
    });
    const masks = paintedMasks(s);
    const message: ToWorker = {
      type: "start",
      recipe,
      content: content && planar(content),
      styles: styles.map(planar),
      ...(masks ? { styleMasks: masks.map((m) => m ?? null) } : {}),
      bundles: this.#assets.bundles,
    };
    const sandbox = recipe.sources?.length ? PluginSandbox.current : undefined;
    if (recipe.sources?.length && !sandbox) {
      s.status.value = { phase: "error", message: "press “Use this plugin” first" };
      return;
    }
    if (sandbox) message.sandbox = { port: sandbox.connect(), plugins: s.sourcePlugins.value };
    this.#worker ??= this.#spawn();
    this.#recent = [];
    s.status.value = { phase: "loading", message: "loading the network…" };
    s.finished.value = false;
    s.shared.value = {};
    const transfer = [
      message.content?.data.buffer,
      ...message.styles.map((x) => x.data.buffer),
      ...(message.styleMasks ?? []).map((m) => m?.buffer),
    ]
      .filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
    this.#worker.postMessage(message, [
      ...transfer,
      ...(message.sandbox ? [message.sandbox.port] : []),
    ]);
  }

  /** Asks the running job to stop (the last preview stays). */
  stop(): void {
    const worker = this.#worker;
    worker?.postMessage({ type: "stop" } satisfies ToWorker);
    // A worker deep in one long step (building a huge graph) hears nothing: end it.
    setTimeout(() => {
      const phase = this.#state.status.value.phase;
      if (this.#worker !== worker || (phase !== "running" && phase !== "loading")) return;
      worker?.terminate();
      this.#worker = undefined;
      this.#state.status.value = {
        ...this.#state.status.value,
        phase: "stopped",
        message: "stopped (the run did not answer, so it was ended)",
      };
    }, 3000);
  }

  #spawn(): Worker {
    const worker = new Worker(this.#assets.worker, { type: "module" });
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.#receive(e.data);
    worker.onerror = (e) => {
      this.#state.status.value = { phase: "error", message: e.message || "the worker failed" };
    };
    return worker;
  }

  #receive(m: FromWorker): void {
    const s = this.#state;
    const status = s.status.value;
    switch (m.type) {
      case "notice": {
        const notice = browserNotice(m.message);
        s.status.value = "backend" in notice
          ? { ...status, backend: notice.backend }
          : { ...status, notes: [...(status.notes ?? []), notice.note] };
        break;
      }
      case "scale":
        // A new scale starts at its first iteration: the previous scale's last
        // one would read as this scale done.
        s.status.value = {
          ...status,
          phase: "running",
          message: undefined,
          scale: m.scale,
          scales: m.scales,
          size: { width: m.width, height: m.height },
          iteration: undefined,
          tile: undefined,
        };
        break;
      case "tile": {
        const earlier = m.done > 1 && status.tile?.pass === m.pass ? status.tile.regions : [];
        s.status.value = {
          ...status,
          phase: "running",
          tile: m.done === m.windows && m.pass === 2 ? undefined : {
            pass: m.pass,
            done: m.done,
            windows: m.windows,
            regions: [...earlier, m.region],
          },
        };
        break;
      }
      case "iteration": {
        this.#recent.push(m.msPerIteration);
        if (this.#recent.length > 10) this.#recent.shift();
        s.status.value = {
          ...status,
          phase: "running",
          scale: m.scale,
          scales: m.scales,
          iteration: m.iteration,
          iterations: m.iterations,
          msPerIteration: this.#recent.reduce((a, b) => a + b, 0) / this.#recent.length,
          total: m.total,
          terms: m.terms,
        };
        break;
      }
      case "preview":
        s.image.value = m.image;
        break;
      case "warning":
        s.status.value = { ...status, message: m.message };
        break;
      case "done":
        s.image.value = m.image;
        s.finished.value = true;
        s.resultFrom.value = this.#from;
        s.status.value = {
          ...status,
          phase: "done",
          // The notice's line says why this backend, too.
          backend: status.backend ?? `${m.backend} (${m.device})`,
          total: m.total,
          message: `done: ${m.iterations} iterations in ${m.seconds.toFixed(1)} s`,
        };
        break;
      case "stopped":
        s.status.value = { ...status, phase: "stopped", message: "stopped" };
        break;
      case "error":
        s.status.value = { ...status, phase: "error", message: browserText(m.message) };
        break;
    }
  }
}

/** A number per object for as long as it lives: images and paintings are replaced, never changed. */
const identities = new WeakMap<object, number>();
let nextIdentity = 1;
function identity(o: object | undefined): number {
  if (!o) return 0;
  let id = identities.get(o);
  if (id === undefined) identities.set(o, id = nextIdentity++);
  return id;
}

/** What a run is made from, as a key: the recipe and which content image, style images and painting. */
export function inputsKey(state: PlaygroundState): string {
  return JSON.stringify([
    runnableRecipe(state),
    identity(state.content.value),
    state.styles.value.map(identity),
    identity(state.masks.value),
  ]);
}

/**
 * What a share of the current state would hold, as a key: its inputs and
 * which result. Equal keys: sharing again would make the same share.
 */
export function shareKey(state: PlaygroundState): string {
  return JSON.stringify([inputsKey(state), identity(state.image.value)]);
}

/** Whether the shown result was made from the inputs as they are now (else sharing would lie). */
export function resultIsCurrent(state: PlaygroundState): boolean {
  return state.finished.value && state.resultFrom.value === inputsKey(state);
}

/** Whether the current state is what was shared last (or what the open share page shows). */
export function alreadyShared(state: PlaygroundState): boolean {
  const key = state.shared.value.key;
  return key !== undefined && key === shareKey(state);
}

/** Uploads the recipe, the images and the result; sets the share link on the state. */
export async function shareRun(state: PlaygroundState): Promise<void> {
  const image = state.image.value;
  if (!image || !resultIsCurrent(state) || alreadyShared(state)) return;
  // Taken before anything is read: a change while uploading makes the state differ from the share.
  const key = shareKey(state);
  state.shared.value = { busy: true };
  try {
    const form = new FormData();
    const recipe = runnableRecipe(state);
    form.set("recipe", JSON.stringify(recipe));
    const blob = (b: { bytes: Uint8Array; type: string }) =>
      new Blob([b.bytes as BlobPart], { type: b.type });
    if (state.content.value) {
      form.set("content", blob(state.content.value), state.content.value.name);
    }
    for (const s of state.styles.value) form.append("style", blob(s), s.name);
    const masks = paintedMasks(state);
    const content = state.content.value;
    if (masks && content) {
      for (const [i, m] of masks.entries()) {
        if (!m) form.append("style-mask", "none");
        else {
          const png = await encodePng(maskRgba(m), content.width, content.height);
          form.append("style-mask", png, `mask-${i + 1}.png`);
        }
      }
    }
    form.set("result", await encodePng(image.rgba, image.width, image.height), "result.png");
    const response = await fetch("/api/shares", { method: "POST", body: form });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
    if (typeof body.deleteToken === "string") rememberDeleteToken(body.id, body.deleteToken);
    state.shared.value = { url: new URL(body.url, location.href).href, key };
  } catch (e) {
    state.shared.value = { error: `sharing failed: ${(e as Error).message}` };
  }
}
