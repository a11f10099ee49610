/**
 * Element-wise binary arithmetic with NumPy broadcasting: add, sub, mul, div,
 * and the n-ary sum used to accumulate gradients.
 *
 * @module
 */

import { apply, expect, formatShape, type OpDef, type Shape, type Tensor } from "../expr.ts";
import { reduceSum } from "./reduce.ts";
import { reshape } from "./layout.ts";
import { constant } from "./source.ts";
import { neg } from "./unary.ts";

/** A tensor, or a number used as a scalar constant. */
export type TensorLike = Tensor | number;

/** Turns a number into a scalar constant; tensors pass through. */
export function toTensor(x: TensorLike): Tensor {
  return typeof x === "number" ? constant(x) : x;
}

/** The NumPy broadcast of two shapes; throws a message naming both when they do not fit. */
export function broadcastShapes(a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    expect(
      da === db || da === 1 || db === 1,
      () =>
        `shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together ` +
        `(axis ${i} from the left of the broadcast shape: ${da} vs ${db}; each pair must be equal or 1)`,
    );
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * Sums a gradient of the broadcast shape back down to `shape`, the shape of the
 * operand that was broadcast.
 */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? reduceSum(g, { axes, keepDims: true }) : g;
  return reshape(summed, shape);
}

const binaryShape = (inputs: readonly Shape[]): Shape => broadcastShapes(inputs[0], inputs[1]);

const addOp: OpDef = {
  name: "add",
  shape: binaryShape,
  emit: (ctx, _node, [a, b]) => ctx.node("Add", [a, b])[0],
  grad: (dy, node, needed) => [
    needed[0] ? unbroadcast(dy, node.inputs[0].shape) : undefined,
    needed[1] ? unbroadcast(dy, node.inputs[1].shape) : undefined,
  ],
};

const subOp: OpDef = {
  name: "sub",
  shape: binaryShape,
  emit: (ctx, _node, [a, b]) => ctx.node("Sub", [a, b])[0],
  grad: (dy, node, needed) => [
    needed[0] ? unbroadcast(dy, node.inputs[0].shape) : undefined,
    needed[1] ? unbroadcast(neg(dy), node.inputs[1].shape) : undefined,
  ],
};

const mulOp: OpDef = {
  name: "mul",
  shape: binaryShape,
  emit: (ctx, _node, [a, b]) => ctx.node("Mul", [a, b])[0],
  grad: (dy, node, needed) => {
    const [a, b] = node.inputs;
    return [
      needed[0] ? unbroadcast(mul(dy, b), a.shape) : undefined,
      needed[1] ? unbroadcast(mul(dy, a), b.shape) : undefined,
    ];
  },
};

const divOp: OpDef = {
  name: "div",
  shape: binaryShape,
  emit: (ctx, _node, [a, b]) => ctx.node("Div", [a, b])[0],
  grad: (dy, node, needed) => {
    const [a, b] = node.inputs;
    return [
      needed[0] ? unbroadcast(div(dy, b), a.shape) : undefined,
      // d(a/b)/db = -(a/b)/b, written with the output y = a/b.
      needed[1] ? unbroadcast(neg(div(mul(dy, node), b)), b.shape) : undefined,
    ];
  },
};

/** `a + b`, broadcasting. */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return apply(addOp, [toTensor(a), toTensor(b)], undefined);
}

/** `a - b`, broadcasting. */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return apply(subOp, [toTensor(a), toTensor(b)], undefined);
}

/** `a · b` element-wise, broadcasting. */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return apply(mulOp, [toTensor(a), toTensor(b)], undefined);
}

/** `a / b` element-wise, broadcasting. */
export function div(a: TensorLike, b: TensorLike): Tensor {
  return apply(divOp, [toTensor(a), toTensor(b)], undefined);
}

const addNOp: OpDef = {
  name: "addN",
  shape: (inputs) => {
    for (const s of inputs) {
      expect(
        s.length === inputs[0].length && s.every((d, i) => d === inputs[0][i]),
        () => `all terms must have the same shape, got ${inputs.map(formatShape).join(" and ")}`,
      );
    }
    return inputs[0];
  },
  // A balanced tree of Adds rather than one Sum: onnxruntime's WebGPU provider
  // has no Sum kernel and would run it on the CPU, copying both ways.
  emit: (ctx, _node, inputs) => {
    let level = [...inputs];
    while (level.length > 1) {
      const next: string[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) {
        next.push(ctx.node("Add", [level[i], level[i + 1]])[0]);
      }
      if (level.length % 2) next.push(level[level.length - 1]);
      level = next;
    }
    return level[0];
  },
  grad: (dy, node, needed) => node.inputs.map((_, i) => needed[i] ? dy : undefined),
};

/** The sum of several tensors of one shape (emitted as a balanced tree of `Add`s). */
export function addN(terms: readonly Tensor[]): Tensor {
  expect(terms.length > 0, () => "addN: needs at least one term");
  return terms.length === 1 ? terms[0] : apply(addNOp, terms, undefined);
}
