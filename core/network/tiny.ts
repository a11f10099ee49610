/**
 * A tiny network for fast tests and examples: three small conv–relu layers
 * with a max and an average pool between them. Its weights are made from a
 * seed (see {@linkcode randomWeights}).
 *
 * @module
 */

import type { NetworkDescription } from "./description.ts";

/** The tiny network's table: conv1 (3→4), pool1 (max), conv2 (4→6), pool2 (avg), conv3 (6→8). */
export const TINY: NetworkDescription = {
  name: "tiny",
  title: "tiny test network (3 conv layers, random weights)",
  preprocess: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
  layers: [
    {
      name: "conv1",
      type: "conv",
      filters: 4,
      kernel: 3,
      padding: 1,
      weight: "conv1.weight",
      bias: "conv1.bias",
    },
    { name: "relu1", type: "relu" },
    { name: "pool1", type: "pool", op: "max", kernel: 2, swappable: true },
    {
      name: "conv2",
      type: "conv",
      filters: 6,
      kernel: 3,
      padding: 1,
      weight: "conv2.weight",
      bias: "conv2.bias",
    },
    { name: "relu2", type: "relu" },
    { name: "pool2", type: "pool", op: "avg", kernel: 2, swappable: true },
    {
      name: "conv3",
      type: "conv",
      filters: 8,
      kernel: 3,
      padding: 1,
      weight: "conv3.weight",
      bias: "conv3.bias",
    },
    { name: "relu3", type: "relu" },
  ],
  defaults: {
    style: [{ layer: "relu1", weight: 1 / 3 }, { layer: "relu2", weight: 1 / 3 }, {
      layer: "relu3",
      weight: 1 / 3,
    }],
    content: [{ layer: "relu2", weight: 1 }],
  },
  minSize: 4,
};
