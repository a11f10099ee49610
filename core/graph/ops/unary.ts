/**
 * Element-wise unary math: neg, square, sqrt, abs, sign, exp, log, pow with a
 * constant exponent, relu, sigmoid and tanh.
 *
 * @module
 */

import { apply, expect, type OpDef, type Shape, type Tensor } from "../expr.ts";
import { div, mul, sub } from "./arithmetic.ts";

const same = (inputs: readonly Shape[]): Shape => inputs[0];

/** Defines an element-wise op from its ONNX type and the derivative it multiplies `dy` by. */
function unary(
  name: string,
  onnxType: string,
  grad?: (dy: Tensor, x: Tensor, y: Tensor) => Tensor,
): OpDef {
  return {
    name,
    shape: same,
    emit: (ctx, _node, [x]) => ctx.node(onnxType, [x])[0],
    grad: grad && ((dy, node, needed) => [needed[0] ? grad(dy, node.inputs[0], node) : undefined]),
  };
}

const negOp = unary("neg", "Neg", (dy) => neg(dy));
const squareOp: OpDef = {
  name: "square",
  shape: same,
  // x·x is one Mul, cheaper than Pow.
  emit: (ctx, _node, [x]) => ctx.node("Mul", [x, x])[0],
  grad: (dy, node, needed) => [needed[0] ? mul(dy, mul(node.inputs[0], 2)) : undefined],
};
const sqrtOp = unary("sqrt", "Sqrt", (dy, _x, y) => div(mul(dy, 0.5), y));
const absOp = unary("abs", "Abs", (dy, x) => mul(dy, sign(x)));
// The derivative of sign is zero wherever it exists: no contribution.
const signOp: OpDef = {
  name: "sign",
  shape: same,
  emit: (ctx, _node, [x]) => ctx.node("Sign", [x])[0],
  grad: () => [undefined],
};
// Heaviside step: 1 where x > 0, else 0. Zero gradient, like sign.
const stepOp: OpDef = {
  name: "step",
  shape: same,
  // Cast(Greater) measured faster than Sign on both CPU backends.
  emit: (ctx, _node, [x]) =>
    ctx.node("Cast", [ctx.node("Greater", [x, ctx.float([0])])[0]], { to: 1 })[0],
  grad: () => [undefined],
};
const expOp = unary("exp", "Exp", (dy, _x, y) => mul(dy, y));
const logOp = unary("log", "Log", (dy, x) => div(dy, x));
// relu' is 1 where the output is positive, else 0.
const reluOp = unary("relu", "Relu", (dy, _x, y) => mul(dy, step(y)));
const sigmoidOp = unary("sigmoid", "Sigmoid", (dy, _x, y) => mul(dy, mul(y, sub(1, y))));
const tanhOp = unary("tanh", "Tanh", (dy, _x, y) => mul(dy, sub(1, mul(y, y))));

/** `-x`. */
export function neg(x: Tensor): Tensor {
  return apply(negOp, [x], undefined);
}

/** `x²`. */
export function square(x: Tensor): Tensor {
  return apply(squareOp, [x], undefined);
}

/** `√x` (the gradient is infinite at 0: add a small epsilon first where x can vanish). */
export function sqrt(x: Tensor): Tensor {
  return apply(sqrtOp, [x], undefined);
}

/** `|x|` (its gradient at 0 is taken as 0). */
export function abs(x: Tensor): Tensor {
  return apply(absOp, [x], undefined);
}

/** `sign(x)` ∈ {-1, 0, 1}; its gradient is zero. */
export function sign(x: Tensor): Tensor {
  return apply(signOp, [x], undefined);
}

/** 1 where `x > 0`, else 0 (Heaviside step); its gradient is zero. */
export function step(x: Tensor): Tensor {
  return apply(stepOp, [x], undefined);
}

/** `eˣ`. */
export function exp(x: Tensor): Tensor {
  return apply(expOp, [x], undefined);
}

/** Natural logarithm. */
export function log(x: Tensor): Tensor {
  return apply(logOp, [x], undefined);
}

/** `max(x, 0)`. */
export function relu(x: Tensor): Tensor {
  return apply(reluOp, [x], undefined);
}

/** `1 / (1 + e⁻ˣ)`. */
export function sigmoid(x: Tensor): Tensor {
  return apply(sigmoidOp, [x], undefined);
}

/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return apply(tanhOp, [x], undefined);
}

/** Attributes of {@linkcode pow}. */
export interface PowAttrs {
  /** The constant exponent. */
  readonly exponent: number;
}

const powOp: OpDef<PowAttrs> = {
  name: "pow",
  shape: same,
  emit: (ctx, node, [x]) => ctx.node("Pow", [x, ctx.float([node.attrs.exponent])])[0],
  grad: (dy, node, needed) => {
    const p = node.attrs.exponent;
    const x = node.inputs[0];
    if (!needed[0]) return [undefined];
    // d(xᵖ)/dx = p·xᵖ⁻¹; the cases p = 1 and p = 2 avoid a Pow node.
    const d = p === 1 ? undefined : p === 2 ? mul(x, 2) : mul(pow(x, p - 1), p);
    return [d ? mul(dy, d) : dy];
  },
};

/** `xᵖ` for a constant exponent `p` (for fractional `p`, x must be positive). */
export function pow(x: Tensor, exponent: number): Tensor {
  expect(Number.isFinite(exponent), () => `pow: exponent ${exponent} must be a finite number`);
  return apply(powOp, [x], { exponent });
}
