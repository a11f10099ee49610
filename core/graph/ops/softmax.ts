/**
 * Softmax along one axis.
 *
 * @module
 */

import { apply, normaliseAxis, type OpDef, type Tensor } from "../expr.ts";
import { mul, sub } from "./arithmetic.ts";
import { reduceSum } from "./reduce.ts";

interface SoftmaxAttrs {
  readonly axis: number;
}

const softmaxOp: OpDef<SoftmaxAttrs> = {
  name: "softmax",
  shape: ([x]) => x,
  emit: (ctx, node, [x]) => ctx.node("Softmax", [x], { axis: node.attrs.axis })[0],
  // dx = y ⊙ (dy − Σ_axis dy ⊙ y)
  grad: (dy, node, needed) => {
    if (!needed[0]) return [undefined];
    const inner = reduceSum(mul(dy, node), { axes: [node.attrs.axis], keepDims: true });
    return [mul(node, sub(dy, inner))];
  },
};

/** `exp(x) / Σ exp(x)` along `axis` (default the last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return apply(softmaxOp, [x], { axis: normaliseAxis(axis, x.rank, "softmax") });
}
