/**
 * The benchmark objective: VGG-19's convolutional stack (conv1_1…conv5_1,
 * random He-initialised weights), Gram-matrix style costs at relu1_1…relu5_1
 * and a content cost at relu4_2, differentiated with respect to the image.
 * The same shape of work as a Gatys style-transfer iteration.
 *
 * @module
 */

import {
  avgPool,
  constant,
  conv2d,
  grad,
  input,
  matmul,
  mul,
  reduceSum,
  relu,
  reshape,
  square,
  sub,
  type Tensor,
  toOnnx,
  transpose,
} from "../mod.ts";
import type { OnnxGraph } from "../core/graph/onnx.ts";
import { maxPool } from "../core/graph/ops/pool.ts";
import { normal } from "../core/random.ts";

const BLOCKS = [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512]];
const STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"];
const CONTENT = "relu4_2";

/** Forward FLOPs of the convolutions (multiply-adds × 2). */
export interface VggObjective {
  /** The compiled graph: inputs `image`, outputs `cost` and `grad`. */
  graph: OnnxGraph;
  /** Convolution FLOPs of one forward pass. */
  forwardFlops: number;
}

function gram(f: Tensor): Tensor {
  const [, c, h, w] = f.shape;
  const m = reshape(f, [c, h * w]);
  return matmul(m, transpose(m));
}

/** Builds the objective for a `size`×`size` image. */
export function vggObjective(
  size: number,
  options: { pooling?: "max" | "avg"; seed?: number } = {},
): VggObjective {
  const seed = options.seed ?? 1;
  const image = input("image", [1, 3, size, size]);
  let x: Tensor = image;
  let channels = 3;
  let flops = 0;
  const features = new Map<string, Tensor>();
  BLOCKS.forEach((block, b) => {
    if (b > 0) {
      x = options.pooling === "avg" ? avgPool(x, { kernel: 2 }) : maxPool(x, { kernel: 2 });
    }
    block.forEach((out, i) => {
      const w = normal(out * channels * 9, seed * 1000 + b * 10 + i, Math.sqrt(2 / (channels * 9)));
      const bias = constant(new Float32Array(out));
      x = relu(conv2d(x, constant(w, [out, channels, 3, 3]), { bias, padding: 1 }));
      flops += 2 * x.shape[2] * x.shape[3] * out * channels * 9;
      channels = out;
      features.set(`relu${b + 1}_${i + 1}`, x);
    });
  });
  const terms: Tensor[] = [];
  STYLE.forEach((name, i) => {
    const f = features.get(name)!;
    const g = gram(f);
    const [, c, h, w] = f.shape;
    const target = constant(normal(c * c, 77 + i, h * w / 10), [c, c]);
    terms.push(mul(reduceSum(square(sub(g, target))), 0.2 / (2 * c * h * w) ** 2));
  });
  const content = features.get(CONTENT)!;
  const target = constant(normal(content.size, 99, 0.5), content.shape);
  terms.push(mul(reduceSum(square(sub(content, target))), 0.5));
  const cost = terms.reduce((a, b) => a === b ? a : sub(a, mul(b, -1)));
  const [g] = grad(cost, [image]);
  return { graph: toOnnx({ cost, grad: g }), forwardFlops: flops };
}
