/**
 * The playground's Web Worker: runs the same `stylize` as the CLI, off the
 * page's thread, so the page never freezes. It loads the offline network from
 * its bundle once, reports progress and previews, and stops on request.
 *
 * @module
 */

/// <reference lib="webworker" />

import {
  BUILTIN_PLUGINS,
  decodeNetworkBundle,
  type FeatureNetwork,
  loadNetwork,
  parseRecipe,
  type RgbImage,
  stylize,
} from "../../mod.ts";
import type { FromWorker, RgbaImage, ToWorker } from "./protocol.ts";
import { planarToRgba } from "./pixels.ts";

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

/** The network of a recipe: the offline InceptionV3 from its bundle, or a seeded one. */
function network(name: string, seed: number, bundleUrl: string): Promise<FeatureNetwork> {
  const key = name === "inception" || name === "auto" ? "inception" : `${name}:${seed}`;
  let found = networks.get(key);
  if (!found) {
    found = key === "inception"
      ? fetch(bundleUrl).then(async (r) => {
        if (!r.ok) throw new Error(`the network could not be downloaded (HTTP ${r.status})`);
        return decodeNetworkBundle(new Uint8Array(await r.arrayBuffer()), {
          source: "inception bundle",
        });
      })
      : name === "tiny" || name === "random"
      ? loadNetwork(name, { seed })
      : Promise.reject(
        new Error(`network "${name}" is not available in the browser (inception, tiny, random)`),
      );
    found.catch(() => networks.delete(key));
    networks.set(key, found);
  }
  return found;
}

async function start(message: Extract<ToWorker, { type: "start" }>): Promise<void> {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  const started = performance.now();
  try {
    const { recipe, uses } = parseRecipe(message.recipe, BUILTIN_PLUGINS);
    const net = await network(recipe.network, recipe.seed, message.networkUrl);
    const { version: _v, plugins: _p, ...settings } = recipe;
    const result = await stylize(
      { network: net, plugins: uses, content: message.content, styles: message.styles, settings },
      {
        signal: controller.signal,
        onNotice: (text) => post({ type: "notice", message: text }),
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
