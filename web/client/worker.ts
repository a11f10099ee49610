/**
 * The playground's Web Worker: runs the same `stylize` as the CLI, off the
 * page's thread, so the page never freezes. It asks the network's registry
 * record whether it runs in a browser, loads it once (from the bundle the web
 * build made for it, else from its seed), reports progress and previews, and
 * stops on request.
 *
 * @module
 */

/// <reference lib="webworker" />

import {
  BUILTIN_PLUGINS,
  maskImage,
  NETWORKS,
  parseRecipe,
  type RgbImage,
  stylize,
} from "../../mod.ts";
import { decodeNetworkBundle } from "../../core/network/bundle.ts";
import type { FeatureNetwork } from "../../core/network/feature_network.ts";
import { resolveNetwork } from "../../core/network/registry.ts";
import type { FromWorker, RgbaImage, ToWorker } from "./protocol.ts";
import { planarToRgba } from "./pixels.ts";
import * as api from "../../mod.ts";
import { remotePlugin } from "../../core/remote_plugin.ts";
import type { Plugin } from "../../core/plugin.ts";
import { askOver } from "./plugin_sandbox.ts";

/**
 * What a run in this tab may use when its memory setting is `auto`: the
 * onnxruntime heap is at most 4 GiB (wasm32), beside the JS arrays of the
 * optimiser; larger images go in tiles.
 */
const TAB_MEMORY = 3e9;

const scope = globalThis as unknown as DedicatedWorkerGlobalScope;
let running: AbortController | undefined;
const networks = new Map<string, Promise<FeatureNetwork>>();

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function toRgba(image: RgbImage): RgbaImage {
  return {
    width: image.width,
    height: image.height,
    rgba: planarToRgba(image.data, image.width, image.height),
  };
}

async function fromBundle(url: string, name: string): Promise<FeatureNetwork> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`network ${name} could not be downloaded (HTTP ${r.status})`);
  return decodeNetworkBundle(new Uint8Array(await r.arrayBuffer()), {
    source: `${name} bundle`,
  });
}

/**
 * The network of a recipe, loaded once per name (and seed, for seeded ones):
 * from its bundle when the build made one, else by its record.
 */
async function network(
  name: string,
  seed: number,
  bundles: Readonly<Record<string, string>>,
): Promise<FeatureNetwork> {
  // No weight store here, so `auto` resolves to the offline network; a file
  // path has no record.
  const known = name === "auto" || NETWORKS.some((n) => n.name === name);
  const record = known ? await resolveNetwork(name) : undefined;
  if (!record?.browser) {
    const runnable = NETWORKS.filter((n) => n.browser).map((n) => n.name);
    throw new Error(
      `network "${name}" does not run in the browser; choose ${runnable.join(", ")}`,
    );
  }
  const key = record.seeded ? `${record.name}:${seed}` : record.name;
  let found = networks.get(key);
  if (!found) {
    const url = bundles[record.name];
    found = url ? fromBundle(url, record.name) : record.load({ seed });
    found.catch(() => networks.delete(key));
    networks.set(key, found);
  }
  return await found;
}

async function start(message: Extract<ToWorker, { type: "start" }>): Promise<void> {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  const started = performance.now();
  try {
    // The editor's plugins: their code runs in the sandbox, asked over the port.
    const asker = message.sandbox && askOver(message.sandbox.port);
    const remote = message.sandbox && asker
      ? message.sandbox.plugins.map((d) => remotePlugin(d, { ask: asker.ask, api }))
      : [];
    const registry = new Map<string, Plugin>([
      ...BUILTIN_PLUGINS,
      ...remote.map((p) => [p.name, p] as const),
    ]);
    // The browser's limits: what the page and the share server allow, no more.
    const { recipe, uses } = parseRecipe(message.recipe, registry, { browser: true });
    const net = await network(recipe.network, recipe.seed, message.bundles);
    const info = { name: net.name, layers: net.layerNames, defaults: net.description.defaults };
    for (const use of uses) {
      await remote.find((p) => p === use.plugin)?.prepare(use.options, info);
    }
    const { version: _v, plugins: _p, masks: _m, sources: _s, ...settings } = recipe;
    const { content, styleMasks } = message;
    const masks = content && styleMasks?.length
      ? {
        styles: styleMasks.map((m) => m ? maskImage(content.width, content.height, m) : undefined),
      }
      : undefined;
    const result = await stylize(
      { network: net, plugins: uses, content, styles: message.styles, masks, settings },
      {
        signal: controller.signal,
        onNotice: (text) => post({ type: "notice", message: text }),
        memory: TAB_MEMORY,
        onProgress: (e) => {
          if (e.type === "preview") {
            const image = toRgba(e.image);
            post({ type: "preview", image, scale: e.scale, iteration: e.iteration }, [
              image.rgba.buffer,
            ]);
          } else if (e.type === "iteration") {
            const { type, scale, scales, iteration, iterations, msPerIteration, total, terms } = e;
            post({
              type,
              scale,
              scales,
              iteration,
              iterations,
              msPerIteration,
              total,
              terms: { ...terms },
            });
          } else {
            post(e);
          }
        },
      },
    );
    const image = toRgba(result.image);
    post({
      type: "done",
      image,
      backend: result.backend,
      device: result.device,
      seconds: (performance.now() - started) / 1000,
      iterations: result.iterations,
      total: result.total,
      terms: result.terms,
    }, [image.rgba.buffer]);
  } catch (e) {
    if (controller.signal.aborted) post({ type: "stopped" });
    else {post({
        type: "error",
        message: (e instanceof Error ? e.message : String(e)).split("\n")[0],
      });}
  } finally {
    if (running === controller) running = undefined;
  }
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "start") start(message);
  else if (message.type === "stop") running?.abort();
};
