/**
 * Matrix product with NumPy semantics: the last two axes multiply, leading
 * (batch) axes broadcast.
 *
 * @module
 */

import { apply, expect, formatShape, type OpDef, type Tensor } from "../expr.ts";
import { broadcastShapes, unbroadcast } from "./arithmetic.ts";
import { transpose } from "./layout.ts";

/** Swaps the last two axes. */
function swapLast(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

const matmulOp: OpDef = {
  name: "matmul",
  shape: ([a, b]) => {
    expect(
      a.length >= 2 && b.length >= 2,
      () => `both operands need at least 2 axes, got ${formatShape(a)} and ${formatShape(b)}`,
    );
    const [m, k] = a.slice(-2);
    const [k2, n] = b.slice(-2);
    expect(
      k === k2,
      () =>
        `inner dimensions differ: ${formatShape(a)} has ${k} columns, ${formatShape(b)} ` +
        `has ${k2} rows (expected equal)`,
    );
    return [...broadcastShapes(a.slice(0, -2), b.slice(0, -2)), m, n];
  },
  emit: (ctx, _node, [a, b]) => ctx.node("MatMul", [a, b])[0],
  grad: (dy, node, needed) => {
    const [a, b] = node.inputs;
    return [
      needed[0] ? unbroadcast(matmul(dy, swapLast(b)), a.shape) : undefined,
      needed[1] ? unbroadcast(matmul(swapLast(a), dy), b.shape) : undefined,
    ];
  },
};

/**
 * `a · b` over the last two axes (`[…, m, k] · […, k, n] → […, m, n]`).
 * The Gram matrix of features `f` (channels × positions) is
 * `matmul(f, transpose(f))`.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return apply(matmulOp, [a, b], undefined);
}
