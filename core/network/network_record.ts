/**
 * What the registry holds about each feature network, like a plugin: its
 * name and help texts, its default layers, where it can run, and how to get
 * its description and the loaded network. Callers ask the record instead of
 * checking names.
 *
 * @module
 */

import type { DownloadProgress } from "./download.ts";
import type { NetworkDescription } from "./description.ts";
import type { FeatureNetwork } from "./feature_network.ts";
import type { WeightStore } from "./weight_store.ts";

/** Options of a network's {@linkcode NetworkRecord.load} (and of `loadNetwork`). */
export interface LoadNetworkOptions {
  /** Cache of downloaded weights (VGG). Without one, `auto` picks InceptionV3. */
  store?: WeightStore;
  /**
   * The layers that will be read, given the network's description (so only
   * their weights are fetched); default: the description's default layers.
   */
  layers?: (description: NetworkDescription) => readonly string[];
  /** Seed of `random` and `tiny` (default 0). */
  seed?: number;
  /** Download progress (VGG). */
  onProgress?: (progress: DownloadProgress) => void;
  /** One-line notices (what `auto` chose and why). */
  onNotice?: (message: string) => void;
  /** Stops a download. */
  signal?: AbortSignal;
  /** The fetch to use for downloads (default: the global one). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Another copy of the VGG weights file (default: the published one). */
  url?: string;
}

/** A named feature network: what is known before loading it, and how to load it. */
export interface NetworkRecord {
  /** Registry name (`inception`, `vgg19`, …). */
  readonly name: string;
  /** One line for help texts and pickers. */
  readonly title: string;
  /** Where the weights come from. */
  readonly source: string;
  /** The weights' licence. */
  readonly license: string;
  /** How much is read or downloaded, for help texts. */
  readonly size: string;
  /** The layers style transfer uses by default; the description's `defaults`. */
  readonly defaults: NetworkDescription["defaults"];
  /** Whether it can run in a browser (no weight cache on disk needed). */
  readonly browser: boolean;
  /** Whether its weights are generated from the seed (nothing to read or ship). */
  readonly seeded: boolean;
  /** Its description (layer table, defaults) without loading weights. */
  describe(): Promise<NetworkDescription>;
  /** The network with its weights. */
  load(options?: LoadNetworkOptions): Promise<FeatureNetwork>;
}

/** The distinct layers of a description's style and content defaults, style first. */
export function defaultLayers(description: NetworkDescription): string[] {
  const { style, content } = description.defaults;
  return [...new Set([...style, ...content].map((l) => l.layer))];
}

/** The layers whose weights `options` asks to load (default: the defaults). */
export function layersToLoad(
  description: NetworkDescription,
  options: LoadNetworkOptions,
): readonly string[] {
  return (options.layers ?? defaultLayers)(description);
}
