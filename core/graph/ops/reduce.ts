/**
 * Reductions over axes: sum and mean.
 *
 * @module
 */

import { apply, expect, normaliseAxis, type OpDef, type Shape, type Tensor } from "../expr.ts";
import { broadcastTo, reshape } from "./layout.ts";
import { mul } from "./arithmetic.ts";

/** Attributes of a reduction. */
export interface ReduceAttrs {
  /** The reduced axes, ascending, each in `[0, rank)`. */
  readonly axes: readonly number[];
  /** Whether reduced axes stay as size 1. */
  readonly keepDims: boolean;
}

/** Options of {@linkcode reduceSum} and {@linkcode reduceMean}. */
export interface ReduceOptions {
  /** Axes to reduce (negative counts from the end); all axes when omitted. */
  axes?: readonly number[];
  /** Keep reduced axes as size 1 (default false). */
  keepDims?: boolean;
}

function reducedShape(shape: Shape, attrs: ReduceAttrs, keepDims: boolean): Shape {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!attrs.axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

/** The gradient of a reduction: `dy` spread back over the reduced axes, times `scale`. */
function spread(dy: Tensor, x: Tensor, attrs: ReduceAttrs, scale: number): Tensor {
  const kept = reshape(dy, reducedShape(x.shape, attrs, true));
  const g = broadcastTo(kept, x.shape);
  return scale === 1 ? g : mul(g, scale);
}

function countOf(x: Tensor, attrs: ReduceAttrs): number {
  return attrs.axes.reduce((n, a) => n * x.shape[a], 1);
}

const reduceSumOp: OpDef<ReduceAttrs> = {
  name: "reduceSum",
  shape: ([x], attrs) => reducedShape(x, attrs, attrs.keepDims),
  emit: (ctx, node, [x]) =>
    ctx.node("ReduceSum", [x, ctx.int64(node.attrs.axes)], {
      keepdims: node.attrs.keepDims ? 1 : 0,
    })[0],
  grad: (dy, node, needed) => [
    needed[0] ? spread(dy, node.inputs[0], node.attrs, 1) : undefined,
  ],
};

const reduceMeanOp: OpDef<ReduceAttrs> = {
  name: "reduceMean",
  shape: ([x], attrs) => reducedShape(x, attrs, attrs.keepDims),
  // Opset 17 ReduceMean still takes axes as an attribute.
  emit: (ctx, node, [x]) =>
    ctx.node("ReduceMean", [x], {
      axes: node.attrs.axes,
      keepdims: node.attrs.keepDims ? 1 : 0,
    })[0],
  grad: (dy, node, needed) => [
    needed[0]
      ? spread(dy, node.inputs[0], node.attrs, 1 / countOf(node.inputs[0], node.attrs))
      : undefined,
  ],
};

function reduceAttrs(x: Tensor, options: ReduceOptions, what: string): ReduceAttrs {
  const axes = options.axes === undefined
    ? x.shape.map((_, i) => i)
    : options.axes.map((a) => normaliseAxis(a, x.rank, what));
  expect(
    new Set(axes).size === axes.length,
    () => `${what}: axes ${JSON.stringify(options.axes)} repeat an axis`,
  );
  return { axes: [...axes].sort((a, b) => a - b), keepDims: options.keepDims ?? false };
}

/** The sum over `axes` (all axes by default). */
export function reduceSum(x: Tensor, options: ReduceOptions = {}): Tensor {
  const attrs = reduceAttrs(x, options, "reduceSum");
  return attrs.axes.length === 0 ? x : apply(reduceSumOp, [x], attrs);
}

/** The mean over `axes` (all axes by default). */
export function reduceMean(x: Tensor, options: ReduceOptions = {}): Tensor {
  const attrs = reduceAttrs(x, options, "reduceMean");
  return attrs.axes.length === 0 ? x : apply(reduceMeanOp, [x], attrs);
}
