/**
 * Exports a stylegram feature network for the PyTorch reference: the layer
 * table (only the layers the chosen layers depend on, each row naming its
 * inputs), preprocessing, mirror input padding and default layers as
 * `PREFIX.json`, and the convolution weights as `PREFIX.safetensors` — with
 * batch norm folded into each convolution by the same function stylegram's
 * FeatureNetwork uses, so both sides run the very same float32 kernels and
 * the Python side needs no batch norm.
 *
 *     deno run -A bench/reference/export_network.ts --network inception
 *     deno run -A bench/reference/export_network.ts --network random --seed 0 --out DIR
 *
 * Networks: `inception` (nsfwjs's InceptionV3, offline) and `random` (VGG-19
 * with seeded random weights). Files go to `bench/results/cache/` by default
 * (git-ignored) and are reused while the export key (network, seed, layers,
 * format) is unchanged.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadNetwork } from "../../mod.ts";
import { foldBatchNorm } from "../../core/graph/ops/norm.ts";
import {
  layerInputs,
  layersNeeded,
  type LayerSpec,
  type NamedTensor,
} from "../../core/network/description.ts";
import { encodeSafetensors, type F32Tensor } from "./safetensors_write.ts";

/** Where exports and other reference inputs are cached (under the git-ignored results folder). */
export const CACHE_DIR: string = new URL("../results/cache/", import.meta.url).pathname;

/** The networks the reference can be given. */
export const EXPORTABLE = ["inception", "random"] as const;

/** Bumped whenever the exported format changes, so stale caches are rewritten. */
const FORMAT = 1;

/** Options of {@linkcode exportNetwork}. */
export interface ExportOptions {
  /** Seed of the `random` network (the CLI uses the recipe's seed; default 0). */
  seed?: number;
  /** Output folder (default {@linkcode CACHE_DIR}). */
  dir?: string;
  /** Layers to export (with everything they read); default: the default style and content layers. */
  layers?: readonly string[];
  /** Rewrite even when a matching export exists. */
  force?: boolean;
}

/** What {@linkcode exportNetwork} wrote. */
export interface ExportedNetwork {
  /** Path prefix: `PREFIX.json` and `PREFIX.safetensors`. */
  prefix: string;
  /** Network name. */
  name: string;
  /** Rows in the exported table. */
  rows: number;
  /** Weight bytes written. */
  bytes: number;
  /** True when an existing export was kept. */
  reused: boolean;
}

/** A table row as the reference reads it: explicit inputs, pairs spelled out, no weight names. */
type ExportedRow = Record<string, unknown> & { name: string; type: string; inputs: string[] };

function exportRow(layer: LayerSpec, inputs: string[]): ExportedRow {
  switch (layer.type) {
    case "conv":
      return {
        name: layer.name,
        type: "conv",
        inputs,
        filters: layer.filters,
        kernel: layer.kernel,
        stride: layer.stride ?? 1,
        padding: layer.padding ?? "valid",
      };
    case "pool":
      return {
        name: layer.name,
        type: "pool",
        inputs,
        op: layer.op,
        kernel: layer.kernel,
        stride: layer.stride ?? layer.kernel,
        padding: layer.padding ?? "valid",
        swappable: layer.swappable ?? false,
      };
    case "relu":
      return { name: layer.name, type: "relu", inputs };
    case "concat":
      return { name: layer.name, type: "concat", inputs };
  }
}

/** Exports `name` (see the module notes); returns where. */
export async function exportNetwork(
  name: string,
  options: ExportOptions = {},
): Promise<ExportedNetwork> {
  if (!(EXPORTABLE as readonly string[]).includes(name)) {
    throw new RangeError(`export: network ${name}; choose ${EXPORTABLE.join(" or ")}`);
  }
  const seed = options.seed ?? 0;
  const dir = options.dir ?? CACHE_DIR;
  const prefix = `${dir.replace(/\/$/, "")}/${name === "random" ? `random_seed${seed}` : name}`;
  const network = await loadNetwork(name, {
    seed,
    layers: options.layers ? () => options.layers! : undefined,
  });
  const d = network.description;
  const wanted = options.layers ??
    [...new Set([...d.defaults.style, ...d.defaults.content].map((l) => l.layer))];
  const key = JSON.stringify({ FORMAT, name, seed: name === "random" ? seed : 0, wanted });
  if (!options.force) {
    const old = await Deno.readTextFile(`${prefix}.json`).then(JSON.parse, () => undefined);
    const weights = await Deno.stat(`${prefix}.safetensors`).catch(() => undefined);
    if (old?.exportKey === key && weights) {
      return { prefix, name, rows: old.layers.length, bytes: weights.size, reused: true };
    }
  }

  const index = new Map(d.layers.map((l, i) => [l.name, i]));
  const rows: ExportedRow[] = [];
  const tensors: Record<string, F32Tensor> = {};
  const weight = (key: string): NamedTensor => {
    const w = network.weights.get(key);
    if (!w) throw new Error(`export: network ${name} has no weight ${key}`);
    return w;
  };
  for (const layer of layersNeeded(d, wanted)) {
    rows.push(exportRow(layer, layerInputs(d, index.get(layer.name)!)));
    if (layer.type !== "conv") continue;
    const kernel = weight(layer.weight);
    const bias = layer.bias ? weight(layer.bias) : undefined;
    const bn = layer.batchNorm;
    // The same fold FeatureNetwork applies when it builds the layer.
    const folded = bn
      ? foldBatchNorm(kernel.data, bias?.data, {
        mean: weight(bn.mean).data,
        variance: weight(bn.variance).data,
        scale: bn.scale ? weight(bn.scale).data : undefined,
        offset: bn.offset ? weight(bn.offset).data : undefined,
        epsilon: bn.epsilon,
      })
      : { kernel: kernel.data, bias: bias?.data };
    tensors[`${layer.name}.weight`] = { shape: kernel.shape, data: folded.kernel };
    if (folded.bias) tensors[`${layer.name}.bias`] = { shape: [layer.filters], data: folded.bias };
  }
  const description = {
    exportKey: key,
    exportedBy: "bench/reference/export_network.ts",
    name: d.name,
    title: d.title,
    seed: name === "random" ? seed : undefined,
    preprocess: d.preprocess,
    inputPadding: d.inputPadding ?? 0,
    minSize: d.minSize,
    defaults: d.defaults,
    layers: rows,
  };
  await Deno.mkdir(dir, { recursive: true });
  const bytes = encodeSafetensors(tensors, { network: d.name });
  await Deno.writeFile(`${prefix}.safetensors`, bytes);
  await Deno.writeTextFile(`${prefix}.json`, JSON.stringify(description, null, 1));
  return { prefix, name, rows: rows.length, bytes: bytes.length, reused: false };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      network: { type: "string", default: "inception" },
      seed: { type: "string", default: "0" },
      out: { type: "string" },
      layers: { type: "string" },
      force: { type: "boolean", default: false },
    },
  });
  const result = await exportNetwork(values.network, {
    seed: Number(values.seed),
    dir: values.out,
    layers: values.layers?.split(",").map((s) => s.trim()).filter(Boolean),
    force: values.force,
  });
  console.log(
    `${result.reused ? "kept" : "wrote"} ${result.prefix}.json (${result.rows} layers) and ` +
      `${result.prefix}.safetensors (${(result.bytes / 1e6).toFixed(1)} MB)`,
  );
}
