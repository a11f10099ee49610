/**
 * The tensor-expression API: build forward math with these functions,
 * differentiate it with {@linkcode grad}, emit it with {@linkcode toOnnx}.
 *
 * @module
 */

export {
  formatShape,
  type OpDef,
  type Shape,
  ShapeError,
  sizeOf,
  Tensor,
  UnsupportedError,
} from "./expr.ts";
export { constant, constantData, fill, input, isConstant, isInput } from "./ops/source.ts";
export { add, addN, broadcastShapes, div, mul, sub, type TensorLike } from "./ops/arithmetic.ts";
export { abs, exp, log, neg, pow, relu, sigmoid, sign, sqrt, square, tanh } from "./ops/unary.ts";
export { reduceMean, type ReduceOptions, reduceSum } from "./ops/reduce.ts";
export {
  broadcastTo,
  concat,
  padConstant,
  type PadOptions,
  padReflect,
  reshape,
  reverse,
  slice,
  type SliceOptions,
  transpose,
} from "./ops/layout.ts";
export { matmul } from "./ops/matmul.ts";
export { softmax } from "./ops/softmax.ts";
export {
  conv2d,
  type Conv2dOptions,
  conv2dTranspose,
  type Conv2dTransposeOptions,
} from "./ops/conv.ts";
export { avgPool, maxPool, type PoolOptions } from "./ops/pool.ts";
export { type Padding, type Pair } from "./ops/window.ts";
export { batchNorm, batchNormAffine, type BatchNormParams, foldBatchNorm } from "./ops/norm.ts";
export { ancestors, grad } from "./autodiff.ts";
export { type OnnxGraph, OPSET, toOnnx, type ToOnnxOptions, type ValueSpec } from "./onnx.ts";
