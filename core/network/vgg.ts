/**
 * VGG-16 and VGG-19 (Simonyan & Zisserman 2014), convolutional part, with
 * layer names `conv1_1` … `relu5_4` and `pool1` … `pool5`, and weight names
 * of torchvision's `features` module (`features.N.weight`), as in the
 * ImageNet weights that timm publishes as safetensors.
 *
 * @module
 */

import type { LayerSpec, NetworkDescription } from "./description.ts";

/** Convolutions per block: VGG-16 has 2, 2, 3, 3, 3; VGG-19 2, 2, 4, 4, 4. */
const BLOCKS = { vgg16: [2, 2, 3, 3, 3], vgg19: [2, 2, 4, 4, 4] } as const;
const WIDTHS = [64, 128, 256, 512, 512];

/** The VGG variants. */
export type VggVariant = keyof typeof BLOCKS;

/** The layer table of a VGG variant; every pooling layer is swappable (max by default). */
export function vggLayers(variant: VggVariant): LayerSpec[] {
  const layers: LayerSpec[] = [];
  let index = 0; // torchvision's index in `features`: conv, relu, …, pool
  BLOCKS[variant].forEach((count, b) => {
    for (let i = 1; i <= count; i++) {
      const name = `${b + 1}_${i}`;
      layers.push({
        name: `conv${name}`,
        type: "conv",
        filters: WIDTHS[b],
        kernel: 3,
        padding: 1,
        weight: `features.${index}.weight`,
        bias: `features.${index}.bias`,
      });
      layers.push({ name: `relu${name}`, type: "relu" });
      index += 2;
    }
    layers.push({ name: `pool${b + 1}`, type: "pool", op: "max", kernel: 2, swappable: true });
    index += 1;
  });
  return layers;
}

/** A VGG description with Gatys et al.'s layers: style relu1_1…relu5_1, content relu4_2. */
export function vggDescription(variant: VggVariant): NetworkDescription {
  return {
    name: variant,
    title: `${variant === "vgg19" ? "VGG-19" : "VGG-16"} (ImageNet, torchvision weights)`,
    // torchvision's ImageNet normalisation
    preprocess: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    layers: vggLayers(variant),
    defaults: {
      style: [1, 2, 3, 4, 5].map((b) => ({ layer: `relu${b}_1`, weight: 0.2 })),
      content: [{ layer: "relu4_2", weight: 1 }],
    },
    minSize: 32,
  };
}
