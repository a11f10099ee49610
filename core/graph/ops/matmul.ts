/**
 * Matrix product with NumPy semantics: the last two axes multiply, leading
 * (batch) axes broadcast.
 *
 * @module
 */

import { apply, expect, formatShape, type OpDef, type Tensor } from "../expr.ts";
import { add, broadcastShapes, unbroadcast } from "./arithmetic.ts";
import { transpose } from "./layout.ts";

/** Swaps the last two axes. */
function swapLast(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

/** Whether `b` is `swapLast(a)`, as in a Gram matrix `a · aᵀ`. */
function isSwapOf(b: Tensor, a: Tensor): boolean {
  if (b.op.name !== "transpose" || b.inputs[0] !== a) return false;
  const { perm } = b.attrs as { perm: readonly number[] };
  const r = a.rank;
  return perm.every((p, i) => p === (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
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
    // a · aᵀ: both operands are a, so its gradient is (dy + dyᵀ) · a; one
    // product instead of two, and no transpose of the (large) a.
    if (isSwapOf(b, a)) {
      return [unbroadcast(matmul(add(dy, swapLast(dy)), a), a.shape), undefined];
    }
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
