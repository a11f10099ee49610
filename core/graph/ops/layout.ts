/**
 * Ops that move values without arithmetic: reshape, transpose, slice, pad,
 * concat and broadcast.
 *
 * @module
 */

import {
  apply,
  expect,
  formatShape,
  normaliseAxis,
  type OpDef,
  type Shape,
  sizeOf,
  type Tensor,
} from "../expr.ts";
import { unbroadcast } from "./arithmetic.ts";

const sameShape = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

// ---------------------------------------------------------------- reshape

interface ReshapeAttrs {
  readonly shape: Shape;
}

const reshapeOp: OpDef<ReshapeAttrs> = {
  name: "reshape",
  shape: ([x], attrs) => {
    expect(
      sizeOf(x) === sizeOf(attrs.shape),
      () =>
        `cannot reshape ${sizeOf(x)} elements into ${formatShape(attrs.shape)} ` +
        `(${sizeOf(attrs.shape)} elements)`,
    );
    return attrs.shape;
  },
  emit: (ctx, node, [x]) => ctx.node("Reshape", [x, ctx.int64(node.shape)])[0],
  grad: (dy, node, needed) => [needed[0] ? reshape(dy, node.inputs[0].shape) : undefined],
};

/** The same values in a new shape; one entry may be -1 (inferred). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const known = shape.filter((d) => d !== -1);
  expect(
    shape.every((d) => Number.isInteger(d) && d >= -1) && shape.length - known.length <= 1,
    () =>
      `reshape: target shape ${JSON.stringify(shape)} must hold integers ≥ 0 and at most one -1`,
  );
  const rest = sizeOf(known);
  expect(
    known.length === shape.length || (rest > 0 && x.size % rest === 0),
    () => `reshape: cannot reshape ${x.size} elements into ${formatShape(shape)}`,
  );
  const resolved = shape.map((d) => d === -1 ? (rest === 0 ? 0 : x.size / rest) : d);
  if (sameShape(resolved, x.shape)) return x;
  return apply(reshapeOp, [x], { shape: resolved });
}

// ---------------------------------------------------------------- transpose

interface TransposeAttrs {
  readonly perm: readonly number[];
}

const transposeOp: OpDef<TransposeAttrs> = {
  name: "transpose",
  shape: ([x], { perm }) => {
    expect(
      perm.length === x.length && [...perm].sort((a, b) => a - b).every((p, i) => p === i),
      () => `perm ${JSON.stringify(perm)} must be a permutation of 0…${x.length - 1}`,
    );
    return perm.map((p) => x[p]);
  },
  emit: (ctx, node, [x]) => ctx.node("Transpose", [x], { perm: node.attrs.perm })[0],
  grad: (dy, node, needed) => {
    const inverse: number[] = [];
    node.attrs.perm.forEach((p, i) => inverse[p] = i);
    return [needed[0] ? transpose(dy, inverse) : undefined];
  },
};

/** Permutes the axes; `perm` defaults to reversing them. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.every((a, i) => a === i)) return x;
  return apply(transposeOp, [x], { perm: [...p] });
}

// ---------------------------------------------------------------- slice

interface SliceAttrs {
  /** Per axis: first index, one past the last index, step (all normalised, step ≥ 1). */
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly steps: readonly number[];
}

/** Options of {@linkcode slice}: ranges along some axes, like ONNX `Slice`. */
export interface SliceOptions {
  /** First index along each listed axis (negative counts from the end). */
  starts: readonly number[];
  /** One past the last index (negative counts from the end; clamped to the size). */
  ends: readonly number[];
  /** The axes the ranges apply to (default 0, 1, …). */
  axes?: readonly number[];
  /** Positive steps (default 1). */
  steps?: readonly number[];
}

const sliceLength = (start: number, end: number, step: number): number =>
  Math.max(0, Math.ceil((end - start) / step));

const sliceOp: OpDef<SliceAttrs> = {
  name: "slice",
  shape: ([x], a) => x.map((_, i) => sliceLength(a.starts[i], a.ends[i], a.steps[i])),
  emit: (ctx, node, [x]) => {
    const a = node.attrs;
    const axes = a.starts.map((_, i) => i);
    return ctx.node("Slice", [
      x,
      ctx.int64(a.starts),
      ctx.int64(a.ends),
      ctx.int64(axes),
      ctx.int64(a.steps),
    ])[0];
  },
  grad: (dy, node, needed) => {
    if (!needed[0]) return [undefined];
    const x = node.inputs[0];
    const { starts, steps } = node.attrs;
    // Put each slice element back where it came from: spread strided axes by
    // interleaving zeros, then pad with zeros up to the input's extent.
    let g = dy;
    for (let axis = 0; axis < x.rank; axis++) {
      const step = steps[axis];
      if (step === 1) continue;
      const n = g.shape[axis];
      const split = [...g.shape.slice(0, axis), n, 1, ...g.shape.slice(axis + 1)];
      const padded = padConstant(reshape(g, split), {
        before: split.map(() => 0),
        after: split.map((_, i) => i === axis + 1 ? step - 1 : 0),
      });
      const merged = [...g.shape.slice(0, axis), n * step, ...g.shape.slice(axis + 1)];
      g = reshape(padded, merged);
      const keep = Math.min(n * step, x.shape[axis] - starts[axis]);
      if (keep < n * step) g = slice(g, { starts: [0], ends: [keep], axes: [axis] });
    }
    return [
      padConstant(g, {
        before: starts,
        after: x.shape.map((d, i) => d - starts[i] - g.shape[i]),
      }),
    ];
  },
};

/** A sub-range along some axes, like ONNX `Slice` (positive steps only). */
export function slice(x: Tensor, options: SliceOptions): Tensor {
  const axes = (options.axes ?? options.starts.map((_, i) => i)).map((a) =>
    normaliseAxis(a, x.rank, "slice")
  );
  expect(
    options.starts.length === axes.length && options.ends.length === axes.length &&
      (options.steps === undefined || options.steps.length === axes.length),
    () => `slice: starts, ends, axes and steps must have the same length`,
  );
  const starts = x.shape.map(() => 0);
  const ends = [...x.shape];
  const steps = x.shape.map(() => 1);
  axes.forEach((axis, i) => {
    const dim = x.shape[axis];
    const step = options.steps?.[i] ?? 1;
    expect(
      Number.isInteger(step) && step >= 1,
      () => `slice: step ${step} on axis ${axis} must be a positive integer`,
    );
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    starts[axis] = clamp(options.starts[i]);
    ends[axis] = clamp(options.ends[i]);
    steps[axis] = step;
    expect(
      ends[axis] > starts[axis],
      () =>
        `slice: range ${options.starts[i]}…${options.ends[i]} on axis ${axis} of shape ` +
        `${formatShape(x.shape)} is empty`,
    );
  });
  if (starts.every((s) => s === 0) && ends.every((e, i) => e === x.shape[i])) {
    if (steps.every((s) => s === 1)) return x;
  }
  return apply(sliceOp, [x], { starts, ends, steps });
}

// ---------------------------------------------------------------- reverse

interface ReverseAttrs {
  readonly axes: readonly number[];
}

const reverseOp: OpDef<ReverseAttrs> = {
  name: "reverse",
  shape: ([x]) => x,
  emit: (ctx, node, [x]) => {
    const { axes } = node.attrs;
    // Slice from the last element down past the first, step -1.
    return ctx.node("Slice", [
      x,
      ctx.int64(axes.map(() => -1)),
      ctx.int64(axes.map((a) => -node.shape[a] - 1)),
      ctx.int64(axes),
      ctx.int64(axes.map(() => -1)),
    ])[0];
  },
  grad: (dy, node, needed) => [needed[0] ? reverse(dy, node.attrs.axes) : undefined],
};

/** Reverses the order of elements along `axes` (e.g. flips a kernel spatially). */
export function reverse(x: Tensor, axes: readonly number[]): Tensor {
  const normalised = axes.map((a) => normaliseAxis(a, x.rank, "reverse"));
  expect(
    new Set(normalised).size === normalised.length,
    () => `reverse: axes ${JSON.stringify(axes)} repeat an axis`,
  );
  if (normalised.length === 0) return x;
  return apply(reverseOp, [x], { axes: [...normalised].sort((a, b) => a - b) });
}

// ---------------------------------------------------------------- pad

interface PadAttrs {
  readonly before: readonly number[];
  readonly after: readonly number[];
  readonly value: number;
}

const padOp: OpDef<PadAttrs> = {
  name: "pad",
  shape: ([x], a) => {
    expect(
      a.before.length === x.length && a.after.length === x.length,
      () =>
        `pads need ${x.length} values before and after, got ${a.before.length}/${a.after.length}`,
    );
    expect(
      [...a.before, ...a.after].every((p) => Number.isInteger(p) && p >= 0),
      () => `pads ${JSON.stringify([a.before, a.after])} must be integers ≥ 0`,
    );
    return x.map((d, i) => d + a.before[i] + a.after[i]);
  },
  emit: (ctx, node, [x]) =>
    ctx.node("Pad", [
      x,
      ctx.int64([...node.attrs.before, ...node.attrs.after]),
      ctx.float([node.attrs.value]),
    ], { mode: "constant" })[0],
  grad: (dy, node, needed) => {
    if (!needed[0]) return [undefined];
    const x = node.inputs[0];
    const { before } = node.attrs;
    return [slice(dy, { starts: before, ends: x.shape.map((d, i) => before[i] + d) })];
  },
};

/** Options of {@linkcode padConstant}. */
export interface PadOptions {
  /** Elements added before each axis. */
  before: readonly number[];
  /** Elements added after each axis. */
  after: readonly number[];
  /** The fill value (default 0). */
  value?: number;
}

/** Pads with a constant value (zero by default) around each axis. */
export function padConstant(x: Tensor, options: PadOptions): Tensor {
  const value = options.value ?? 0;
  expect(Number.isFinite(value), () => `pad: value ${value} must be finite`);
  if ([...options.before, ...options.after].every((p) => p === 0)) {
    if (options.before.length === x.rank && options.after.length === x.rank) return x;
  }
  return apply(padOp, [x], { before: [...options.before], after: [...options.after], value });
}

/**
 * Pads the last two axes (H, W) by mirroring the image at its edges, without
 * repeating the edge row or column (like numpy's "reflect"). Built from
 * slices, reversals and concatenations, so it is differentiable.
 */
export function padReflect(x: Tensor, pad: number): Tensor {
  expect(x.rank >= 2, () => `padReflect: input ${formatShape(x.shape)} needs at least 2 axes`);
  const [h, w] = x.shape.slice(-2);
  expect(
    Number.isInteger(pad) && pad >= 0 && pad < h && pad < w,
    () => `padReflect: pad ${pad} must be an integer from 0 to ${Math.min(h, w) - 1} for ${h}×${w}`,
  );
  if (pad === 0) return x;
  let out = x;
  for (const axis of [x.rank - 2, x.rank - 1]) {
    const n = out.shape[axis];
    const before = reverse(slice(out, { starts: [1], ends: [pad + 1], axes: [axis] }), [axis]);
    const after = reverse(slice(out, { starts: [n - pad - 1], ends: [n - 1], axes: [axis] }), [
      axis,
    ]);
    out = concat([before, out, after], axis);
  }
  return out;
}

// ---------------------------------------------------------------- concat

interface ConcatAttrs {
  readonly axis: number;
}

const concatOp: OpDef<ConcatAttrs> = {
  name: "concat",
  shape: (inputs, { axis }) => {
    const first = inputs[0];
    for (const s of inputs) {
      expect(
        s.length === first.length && s.every((d, i) => i === axis || d === first[i]),
        () =>
          `all inputs must match except on axis ${axis}: got ${inputs.map(formatShape).join(", ")}`,
      );
    }
    return first.map((d, i) => i === axis ? inputs.reduce((n, s) => n + s[axis], 0) : d);
  },
  emit: (ctx, node, inputs) => ctx.node("Concat", inputs, { axis: node.attrs.axis })[0],
  grad: (dy, node, needed) => {
    const axis = node.attrs.axis;
    let offset = 0;
    return node.inputs.map((x, i) => {
      const start = offset;
      offset += x.shape[axis];
      return needed[i]
        ? slice(dy, { starts: [start], ends: [start + x.shape[axis]], axes: [axis] })
        : undefined;
    });
  },
};

/** Joins tensors along `axis` (e.g. channels of an Inception block). */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  expect(xs.length > 0, () => "concat: needs at least one tensor");
  if (xs.length === 1) return xs[0];
  const a = normaliseAxis(axis, xs[0].rank, "concat");
  return apply(concatOp, xs, { axis: a });
}

// ---------------------------------------------------------------- broadcast

interface BroadcastAttrs {
  readonly shape: Shape;
}

const broadcastOp: OpDef<BroadcastAttrs> = {
  name: "broadcastTo",
  shape: ([x], { shape }) => {
    const lead = shape.length - x.length;
    expect(
      lead >= 0 && x.every((d, i) => d === shape[lead + i] || d === 1),
      () => `cannot broadcast ${formatShape(x)} to ${formatShape(shape)}`,
    );
    return shape;
  },
  emit: (ctx, node, [x]) => ctx.node("Expand", [x, ctx.int64(node.shape)])[0],
  grad: (dy, node, needed) => [needed[0] ? unbroadcast(dy, node.inputs[0].shape) : undefined],
};

/** Repeats size-1 (or missing leading) axes to reach `shape`, NumPy style. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  return apply(broadcastOp, [x], { shape: [...shape] });
}
