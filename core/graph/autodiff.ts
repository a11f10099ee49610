/**
 * Reverse-mode automatic differentiation over the expression DAG.
 *
 * The whole algorithm: visit the cost's ancestors in reverse topological
 * order (ids grow with creation, so inputs always come before their users),
 * sum the gradient contributions each node received, and hand that sum to the
 * node's gradient rule, which returns new expressions for its inputs. Only
 * nodes that both lead to the cost and depend on a `wrt` tensor are visited,
 * so constants and weights never get a gradient and no dead branch is built.
 *
 * @module
 */

import { formatShape, type Shape, ShapeError, type Tensor, UnsupportedError } from "./expr.ts";
import { addN } from "./ops/arithmetic.ts";
import { constant, fill } from "./ops/source.ts";

/** Every ancestor of `root` (itself included), in increasing id order. */
export function ancestors(roots: readonly Tensor[]): Tensor[] {
  const seen = new Map<number, Tensor>();
  const stack = [...roots];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t.id)) continue;
    seen.set(t.id, t);
    stack.push(...t.inputs);
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}

const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The gradients of the scalar `cost` with respect to each tensor of `wrt`, as
 * new expressions (emit them in the same graph as the cost). A tensor the
 * cost does not depend on gets zeros.
 *
 * @example
 * ```ts
 * import { grad, input, reduceSum, square } from "../../mod.ts";
 * const x = input("x", [2, 3]);
 * const [dx] = grad(reduceSum(square(x)), [x]); // 2·x
 * ```
 */
export function grad(cost: Tensor, wrt: readonly Tensor[]): Tensor[] {
  if (cost.size !== 1) {
    throw new ShapeError(
      `grad: the cost must be a scalar (one element), got shape ${formatShape(cost.shape)}`,
    );
  }
  const targets = new Set(wrt.map((t) => t.id));
  const nodes = ancestors([cost]);
  const depends = new Set<number>();
  for (const t of nodes) {
    if (targets.has(t.id) || t.inputs.some((i) => depends.has(i.id))) depends.add(t.id);
  }

  const contributions = new Map<number, Tensor[]>([[cost.id, [constant(1, cost.shape)]]]);
  const result = new Map<number, Tensor>();
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k];
    const parts = contributions.get(node.id);
    if (!parts || !depends.has(node.id)) continue;
    const dy = addN(parts);
    contributions.delete(node.id);
    if (targets.has(node.id)) result.set(node.id, dy);
    const needed = node.inputs.map((i) => depends.has(i.id));
    if (!needed.some(Boolean)) continue;
    if (!node.op.grad) {
      throw new UnsupportedError(
        `grad: cannot differentiate through "${node.op.name}" (shape ${
          formatShape(node.shape)
        }): ` +
          `it has no gradient rule; compute it from constants or use a differentiable op`,
      );
    }
    const grads = node.op.grad(dy, node, needed);
    node.inputs.forEach((input, i) => {
      const g = grads[i];
      if (!needed[i] || !g) return;
      if (!sameShape(g.shape, input.shape)) {
        throw new Error(
          `grad: internal error, the gradient rule of "${node.op.name}" returned shape ` +
            `${formatShape(g.shape)} for input ${i} of shape ${formatShape(input.shape)}`,
        );
      }
      const list = contributions.get(input.id);
      if (list) list.push(g);
      else contributions.set(input.id, [g]);
    });
  }
  return wrt.map((t) => result.get(t.id) ?? fill(t.shape, 0));
}
