/**
 * An independent float64 reference interpreter for tensor expressions, used by
 * tests to check what onnxruntime computes from the emitted graphs.
 *
 * Every op is written out as plain loops straight from its ONNX (opset 17)
 * definition, without sharing any code with the emitters or gradient rules in
 * `core/graph/ops/`: a bug there should show up as a disagreement here, not be
 * copied. Attribute types are declared locally for the same reason.
 *
 * @module
 */

import type { Shape, Tensor } from "../../core/graph/expr.ts";

/** Evaluates `outputs` in float64 with plain loops. feeds: input name -> values (row-major). */
export function evaluate(
  outputs: readonly Tensor[],
  feeds: Readonly<Record<string, ArrayLike<number>>>,
): Float64Array[] {
  const values = new Map<number, Float64Array>();
  // Ids grow with creation and inputs are always created first, so increasing
  // id order is a topological order: no recursion (deep graphs are fine).
  for (const t of ancestorsById(outputs)) {
    const inputs = t.inputs.map((i) => values.get(i.id)!);
    const result = evaluateNode(t, inputs, feeds);
    if (result.length !== size(t.shape)) {
      throw new Error(
        `reference: ${t.op.name} produced ${result.length} values for shape [${t.shape}]`,
      );
    }
    values.set(t.id, result);
  }
  return outputs.map((t) => values.get(t.id)!);
}

/** Every tensor `roots` depend on (themselves included), sorted by id. */
function ancestorsById(roots: readonly Tensor[]): Tensor[] {
  const seen = new Map<number, Tensor>();
  const stack = [...roots];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t.id)) continue;
    seen.set(t.id, t);
    stack.push(...t.inputs);
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}

// ------------------------------------------------------------------ dispatch

type Values = Float64Array;

function evaluateNode(
  t: Tensor,
  x: readonly Values[],
  feeds: Readonly<Record<string, ArrayLike<number>>>,
): Values {
  // deno-lint-ignore no-explicit-any
  const attrs = t.attrs as any;
  const shapes = t.inputs.map((i) => i.shape);
  switch (t.op.name) {
    case "input":
      return readFeed(attrs.name, t.shape, feeds);
    case "constant":
      return Float64Array.from(attrs.data as ArrayLike<number>);
    case "fill":
      return new Float64Array(size(t.shape)).fill(attrs.value);

    case "add":
      return binary(x[0], shapes[0], x[1], shapes[1], t.shape, (a, b) => a + b);
    case "sub":
      return binary(x[0], shapes[0], x[1], shapes[1], t.shape, (a, b) => a - b);
    case "mul":
      return binary(x[0], shapes[0], x[1], shapes[1], t.shape, (a, b) => a * b);
    case "div":
      return binary(x[0], shapes[0], x[1], shapes[1], t.shape, (a, b) => a / b);
    case "addN":
      return addN(x);

    case "neg":
      return unary(x[0], (v) => -v);
    case "square":
      return unary(x[0], (v) => v * v);
    case "sqrt":
      return unary(x[0], Math.sqrt);
    case "abs":
      return unary(x[0], Math.abs);
    case "sign":
      // Math.sign(-0) is -0; ONNX Sign gives 0, which compares equal anyway.
      return unary(x[0], (v) => Math.sign(v));
    case "step":
      return unary(x[0], (v) => v > 0 ? 1 : 0);
    case "exp":
      return unary(x[0], Math.exp);
    case "log":
      return unary(x[0], Math.log);
    case "relu":
      return unary(x[0], (v) => Math.max(v, 0));
    case "sigmoid":
      return unary(x[0], (v) => 1 / (1 + Math.exp(-v)));
    case "tanh":
      return unary(x[0], Math.tanh);
    case "pow":
      return unary(x[0], (v) => Math.pow(v, attrs.exponent));

    case "reduceSum":
      return reduce(x[0], shapes[0], attrs, false);
    case "reduceMean":
      return reduce(x[0], shapes[0], attrs, true);

    case "reshape":
      return Float64Array.from(x[0]);
    case "transpose":
      return transpose(x[0], shapes[0], attrs);
    case "slice":
      return slice(x[0], shapes[0], attrs, t.shape);
    case "pad":
      return pad(x[0], shapes[0], attrs, t.shape);
    case "reverse":
      return reverse(x[0], shapes[0], attrs);
    case "concat":
      return concat(x, shapes, attrs, t.shape);
    case "broadcastTo":
      return gather(x[0], broadcastOffsets(shapes[0], t.shape));

    case "matmul":
      return matmul(x[0], shapes[0], x[1], shapes[1], t.shape);
    case "softmax":
      return softmax(x[0], shapes[0], attrs);

    case "conv2d":
      return conv2d(x, shapes, attrs, t.shape);
    case "conv2dTranspose":
      return conv2dTranspose(x, shapes, attrs, t.shape);
    case "avgPool":
      return avgPool(x[0], shapes[0], attrs, t.shape);
    case "maxPool":
      return maxPool(x[0], shapes[0], attrs, t.shape);
    case "maxPoolBackward":
      return maxPoolBackward(x[0], shapes[0], x[1], shapes[1], attrs, t.shape);

    default:
      throw new Error(`reference: no implementation for op ${t.op.name}`);
  }
}

function readFeed(
  name: string,
  shape: Shape,
  feeds: Readonly<Record<string, ArrayLike<number>>>,
): Values {
  const data = Object.hasOwn(feeds, name) ? feeds[name] : undefined;
  if (data === undefined) {
    throw new Error(
      `reference: no feed for input "${name}" (given: ${Object.keys(feeds).join(", ") || "none"})`,
    );
  }
  if (data.length !== size(shape)) {
    throw new Error(
      `reference: feed "${name}" has ${data.length} values, shape [${shape}] needs ${size(shape)}`,
    );
  }
  return Float64Array.from(data);
}

// ------------------------------------------------------------------ index helpers

function size(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides: how far the flat index moves per step along each axis. */
function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= shape[i];
  }
  return strides;
}

/** Writes the multi-index of flat index `flat` in `shape` into `out`. */
function unravel(flat: number, shape: Shape, out: number[]): void {
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
}

/**
 * For each flat index of `to`, the flat index of `from` that NumPy
 * broadcasting reads there: `from` is right-aligned, and its missing leading
 * axes and size-1 axes repeat (their stride is taken as 0).
 */
function broadcastOffsets(from: Shape, to: Shape): Int32Array {
  const lead = to.length - from.length;
  if (lead < 0) throw new Error(`reference: cannot broadcast [${from}] to [${to}]`);
  const fromStrides = stridesOf(from);
  const strides = to.map((d, i) => {
    if (i < lead) return 0;
    const f = from[i - lead];
    if (f !== d && f !== 1) {
      throw new Error(`reference: cannot broadcast [${from}] to [${to}]`);
    }
    return f === 1 ? 0 : fromStrides[i - lead];
  });
  const offsets = new Int32Array(size(to));
  const idx = new Array<number>(to.length);
  for (let o = 0; o < offsets.length; o++) {
    unravel(o, to, idx);
    let f = 0;
    for (let i = 0; i < to.length; i++) f += idx[i] * strides[i];
    offsets[o] = f;
  }
  return offsets;
}

function gather(x: Values, offsets: Int32Array): Values {
  const out = new Float64Array(offsets.length);
  for (let o = 0; o < out.length; o++) out[o] = x[offsets[o]];
  return out;
}

/** The NumPy broadcast of two shapes (computed here, then checked against the node's shape). */
function broadcastShape(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`reference: shapes [${a}] and [${b}] do not broadcast`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

function checkShape(op: string, expected: Shape, actual: Shape): void {
  if (expected.length !== actual.length || expected.some((d, i) => d !== actual[i])) {
    throw new Error(`reference: ${op} should have shape [${expected}], the node says [${actual}]`);
  }
}

// ------------------------------------------------------------------ element-wise

function unary(x: Values, f: (v: number) => number): Values {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return out;
}

function binary(
  a: Values,
  aShape: Shape,
  b: Values,
  bShape: Shape,
  outShape: Shape,
  f: (a: number, b: number) => number,
): Values {
  checkShape("broadcast", broadcastShape(aShape, bShape), outShape);
  const ia = broadcastOffsets(aShape, outShape);
  const ib = broadcastOffsets(bShape, outShape);
  const out = new Float64Array(size(outShape));
  for (let o = 0; o < out.length; o++) out[o] = f(a[ia[o]], b[ib[o]]);
  return out;
}

function addN(terms: readonly Values[]): Values {
  const out = new Float64Array(terms[0].length);
  for (const t of terms) {
    for (let i = 0; i < out.length; i++) out[i] += t[i];
  }
  return out;
}

// ------------------------------------------------------------------ reductions

interface ReduceAttrs {
  readonly axes: readonly number[];
  readonly keepDims: boolean;
}

function reduce(x: Values, shape: Shape, a: ReduceAttrs, mean: boolean): Values {
  // keepDims only changes the reported shape, not the row-major layout, so
  // accumulate into the kept-dims shape (reduced axes of size 1).
  const kept = shape.map((d, i) => a.axes.includes(i) ? 1 : d);
  const keptStrides = stridesOf(kept);
  const out = new Float64Array(size(kept));
  const idx = new Array<number>(shape.length);
  for (let f = 0; f < x.length; f++) {
    unravel(f, shape, idx);
    let o = 0;
    for (let i = 0; i < shape.length; i++) {
      if (!a.axes.includes(i)) o += idx[i] * keptStrides[i];
    }
    out[o] += x[f];
  }
  if (mean) {
    const count = a.axes.reduce((n, axis) => n * shape[axis], 1);
    for (let o = 0; o < out.length; o++) out[o] /= count;
  }
  return out;
}

function softmax(x: Values, shape: Shape, a: { readonly axis: number }): Values {
  // View the tensor as [outer, n, inner] around the softmax axis.
  const n = shape[a.axis];
  const inner = size(shape.slice(a.axis + 1));
  const outer = size(shape.slice(0, a.axis));
  const out = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => (o * n + k) * inner + i;
      // Subtracting the maximum keeps exp from overflowing; the result is the same.
      let max = -Infinity;
      for (let k = 0; k < n; k++) max = Math.max(max, x[at(k)]);
      let sum = 0;
      for (let k = 0; k < n; k++) sum += out[at(k)] = Math.exp(x[at(k)] - max);
      for (let k = 0; k < n; k++) out[at(k)] /= sum;
    }
  }
  return out;
}

// ------------------------------------------------------------------ layout

function transpose(x: Values, shape: Shape, a: { readonly perm: readonly number[] }): Values {
  // Output axis i is input axis perm[i].
  const outShape = a.perm.map((p) => shape[p]);
  const inStrides = stridesOf(shape);
  const out = new Float64Array(x.length);
  const idx = new Array<number>(shape.length);
  for (let o = 0; o < out.length; o++) {
    unravel(o, outShape, idx);
    let f = 0;
    for (let i = 0; i < idx.length; i++) f += idx[i] * inStrides[a.perm[i]];
    out[o] = x[f];
  }
  return out;
}

interface SliceAttrs {
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly steps: readonly number[];
}

function slice(x: Values, shape: Shape, a: SliceAttrs, outShape: Shape): Values {
  const expected = shape.map((_, i) =>
    Math.max(0, Math.ceil((a.ends[i] - a.starts[i]) / a.steps[i]))
  );
  checkShape("slice", expected, outShape);
  const inStrides = stridesOf(shape);
  const out = new Float64Array(size(outShape));
  const idx = new Array<number>(shape.length);
  for (let o = 0; o < out.length; o++) {
    unravel(o, outShape, idx);
    let f = 0;
    for (let i = 0; i < idx.length; i++) f += (a.starts[i] + idx[i] * a.steps[i]) * inStrides[i];
    out[o] = x[f];
  }
  return out;
}

function reverse(x: Values, shape: Shape, a: { readonly axes: readonly number[] }): Values {
  const strides = stridesOf(shape);
  const out = new Float64Array(x.length);
  const idx = new Array<number>(shape.length);
  for (let o = 0; o < out.length; o++) {
    unravel(o, shape, idx);
    let f = 0;
    for (let i = 0; i < idx.length; i++) {
      f += (a.axes.includes(i) ? shape[i] - 1 - idx[i] : idx[i]) * strides[i];
    }
    out[o] = x[f];
  }
  return out;
}

interface PadAttrs {
  readonly before: readonly number[];
  readonly after: readonly number[];
  readonly value: number;
}

function pad(x: Values, shape: Shape, a: PadAttrs, outShape: Shape): Values {
  checkShape("pad", shape.map((d, i) => d + a.before[i] + a.after[i]), outShape);
  const outStrides = stridesOf(outShape);
  const out = new Float64Array(size(outShape)).fill(a.value);
  const idx = new Array<number>(shape.length);
  for (let f = 0; f < x.length; f++) {
    unravel(f, shape, idx);
    let o = 0;
    for (let i = 0; i < idx.length; i++) o += (idx[i] + a.before[i]) * outStrides[i];
    out[o] = x[f];
  }
  return out;
}

function concat(
  xs: readonly Values[],
  shapes: readonly Shape[],
  a: { readonly axis: number },
  outShape: Shape,
): Values {
  const outStrides = stridesOf(outShape);
  const out = new Float64Array(size(outShape));
  const idx: number[] = [];
  let offset = 0; // where the current input starts along the axis
  xs.forEach((x, k) => {
    for (let f = 0; f < x.length; f++) {
      unravel(f, shapes[k], idx);
      idx[a.axis] += offset;
      let o = 0;
      for (let i = 0; i < idx.length; i++) o += idx[i] * outStrides[i];
      out[o] = x[f];
    }
    offset += shapes[k][a.axis];
  });
  if (offset !== outShape[a.axis]) {
    throw new Error(`reference: concat inputs add up to ${offset}, not ${outShape[a.axis]}`);
  }
  return out;
}

// ------------------------------------------------------------------ matmul

function matmul(a: Values, aShape: Shape, b: Values, bShape: Shape, outShape: Shape): Values {
  const [m, k] = aShape.slice(-2);
  const [k2, n] = bShape.slice(-2);
  if (k !== k2) throw new Error(`reference: matmul inner sizes ${k} and ${k2} differ`);
  const batch = broadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
  checkShape("matmul", [...batch, m, n], outShape);
  // Which matrix of each operand every output matrix reads.
  const aBatch = broadcastOffsets(aShape.slice(0, -2), batch);
  const bBatch = broadcastOffsets(bShape.slice(0, -2), batch);
  const out = new Float64Array(size(outShape));
  for (let z = 0; z < aBatch.length; z++) {
    const aOff = aBatch[z] * m * k;
    const bOff = bBatch[z] * k * n;
    const oOff = z * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += a[aOff + i * k + p] * b[bOff + p * n + j];
        out[oOff + i * n + j] = sum;
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------ convolution

interface ConvAttrs {
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right] */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly groups: number;
  readonly outputPadding: readonly [number, number];
}

/** Flat index of [a, b, c, d] in an NCHW-like shape. */
function at4(shape: Shape, a: number, b: number, c: number, d: number): number {
  return ((a * shape[1] + b) * shape[2] + c) * shape[3] + d;
}

/**
 * y[n, m, oy, ox] = bias[m] + Σ_{c in m's group, ki, kj}
 *   x[n, c, oy·sh − top + ki·dh, ox·sw − left + kj·dw] · w[m, c − group start, ki, kj],
 * with positions outside x reading zero.
 */
function conv2d(
  [x, w, bias]: readonly Values[],
  [xShape, wShape]: readonly Shape[],
  a: ConvAttrs,
  outShape: Shape,
): Values {
  const [batch, channels, h, wd] = xShape;
  const [m, cPerGroup, kh, kw] = wShape;
  const [sh, sw] = a.strides;
  const [dh, dw] = a.dilations;
  const [top, left, bottom, right] = a.pads;
  const oh = Math.floor((h + top + bottom - ((kh - 1) * dh + 1)) / sh) + 1;
  const ow = Math.floor((wd + left + right - ((kw - 1) * dw + 1)) / sw) + 1;
  checkShape("conv2d", [batch, m, oh, ow], outShape);
  if (cPerGroup * a.groups !== channels || m % a.groups !== 0) {
    throw new Error(`reference: conv2d groups ${a.groups} do not fit [${xShape}] and [${wShape}]`);
  }
  const mPerGroup = m / a.groups;
  const out = new Float64Array(size(outShape));
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < m; o++) {
      const group = Math.floor(o / mPerGroup);
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let sum = bias ? bias[o] : 0;
          for (let c = 0; c < cPerGroup; c++) {
            const ci = group * cPerGroup + c;
            for (let ki = 0; ki < kh; ki++) {
              const iy = oy * sh - top + ki * dh;
              if (iy < 0 || iy >= h) continue;
              for (let kj = 0; kj < kw; kj++) {
                const ix = ox * sw - left + kj * dw;
                if (ix < 0 || ix >= wd) continue;
                sum += x[at4(xShape, n, ci, iy, ix)] * w[at4(wShape, o, c, ki, kj)];
              }
            }
          }
          out[at4(outShape, n, o, oy, ox)] = sum;
        }
      }
    }
  }
  return out;
}

/**
 * The transposed convolution as ONNX ConvTranspose defines it, written as a
 * scatter: input x[n, c, i, j] adds x · w[c, m, ki, kj] to output
 * y[n, group·M/g + m, i·sh − top + ki·dh, j·sw − left + kj·dw]. The pads crop
 * the full result (top/left shift it, bottom/right shorten it) and
 * outputPadding lengthens it at the bottom/right; positions that land outside
 * the output are dropped.
 */
function conv2dTranspose(
  [x, w, bias]: readonly Values[],
  [xShape, wShape]: readonly Shape[],
  a: ConvAttrs,
  outShape: Shape,
): Values {
  const [batch, channels, h, wd] = xShape;
  const [cin, mPerGroup, kh, kw] = wShape;
  const [sh, sw] = a.strides;
  const [dh, dw] = a.dilations;
  const [top, left, bottom, right] = a.pads;
  const oh = (h - 1) * sh + (kh - 1) * dh + 1 - top - bottom + a.outputPadding[0];
  const ow = (wd - 1) * sw + (kw - 1) * dw + 1 - left - right + a.outputPadding[1];
  const m = mPerGroup * a.groups;
  checkShape("conv2dTranspose", [batch, m, oh, ow], outShape);
  if (cin !== channels || channels % a.groups !== 0) {
    throw new Error(
      `reference: conv2dTranspose groups ${a.groups} do not fit [${xShape}] and [${wShape}]`,
    );
  }
  const cPerGroup = channels / a.groups;
  const out = new Float64Array(size(outShape));
  if (bias) {
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < m; o++) {
        for (let p = 0; p < oh * ow; p++) out[(n * m + o) * oh * ow + p] = bias[o];
      }
    }
  }
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const group = Math.floor(c / cPerGroup);
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < wd; j++) {
          const v = x[at4(xShape, n, c, i, j)];
          for (let mm = 0; mm < mPerGroup; mm++) {
            const o = group * mPerGroup + mm;
            for (let ki = 0; ki < kh; ki++) {
              const oy = i * sh - top + ki * dh;
              if (oy < 0 || oy >= oh) continue;
              for (let kj = 0; kj < kw; kj++) {
                const ox = j * sw - left + kj * dw;
                if (ox < 0 || ox >= ow) continue;
                out[at4(outShape, n, o, oy, ox)] += v * w[at4(wShape, c, mm, ki, kj)];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------ pooling

interface PoolAttrs {
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right] */
  readonly pads: readonly [number, number, number, number];
  readonly countIncludePad: boolean;
}

/**
 * Calls `visit(n, c, oy, ox, rows, cols)` for every output position of a
 * pooling op; `rows`/`cols` are the window's bounds clipped to the real
 * (unpadded) input, half-open.
 */
function forEachWindow(
  xShape: Shape,
  a: PoolAttrs,
  outShape: Shape,
  visit: (
    n: number,
    c: number,
    oy: number,
    ox: number,
    rows: [number, number],
    cols: [number, number],
  ) => void,
): void {
  const [batch, channels, h, w] = xShape;
  const [top, left, bottom, right] = a.pads;
  const oh = Math.floor((h + top + bottom - a.kernel[0]) / a.strides[0]) + 1;
  const ow = Math.floor((w + left + right - a.kernel[1]) / a.strides[1]) + 1;
  checkShape("pool", [batch, channels, oh, ow], outShape);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      for (let oy = 0; oy < oh; oy++) {
        const y0 = oy * a.strides[0] - top;
        const rows: [number, number] = [Math.max(y0, 0), Math.min(y0 + a.kernel[0], h)];
        for (let ox = 0; ox < ow; ox++) {
          const x0 = ox * a.strides[1] - left;
          const cols: [number, number] = [Math.max(x0, 0), Math.min(x0 + a.kernel[1], w)];
          visit(n, c, oy, ox, rows, cols);
        }
      }
    }
  }
}

function avgPool(x: Values, xShape: Shape, a: PoolAttrs, outShape: Shape): Values {
  const out = new Float64Array(size(outShape));
  forEachWindow(xShape, a, outShape, (n, c, oy, ox, [y0, y1], [x0, x1]) => {
    let sum = 0;
    for (let y = y0; y < y1; y++) {
      for (let xx = x0; xx < x1; xx++) sum += x[at4(xShape, n, c, y, xx)];
    }
    // Padded positions add zero to the sum; they only matter for the divisor.
    const count = a.countIncludePad ? a.kernel[0] * a.kernel[1] : (y1 - y0) * (x1 - x0);
    out[at4(outShape, n, c, oy, ox)] = sum / count;
  });
  return out;
}

/**
 * The flat index in x of the first maximum of a window, scanning row-major
 * (strict `>` keeps the first of equal values); -1 for a window with no real
 * input.
 */
function argMax(
  x: Values,
  xShape: Shape,
  n: number,
  c: number,
  rows: readonly number[],
  cols: readonly number[],
): number {
  let best = -1;
  for (let y = rows[0]; y < rows[1]; y++) {
    for (let xx = cols[0]; xx < cols[1]; xx++) {
      const f = at4(xShape, n, c, y, xx);
      if (best < 0 || x[f] > x[best]) best = f;
    }
  }
  return best;
}

function maxPool(x: Values, xShape: Shape, a: PoolAttrs, outShape: Shape): Values {
  const out = new Float64Array(size(outShape));
  forEachWindow(xShape, a, outShape, (n, c, oy, ox, rows, cols) => {
    // Padding never wins: only real positions are scanned.
    const best = argMax(x, xShape, n, c, rows, cols);
    out[at4(outShape, n, c, oy, ox)] = best < 0 ? -Infinity : x[best];
  });
  return out;
}

/** dx of maxPool: each dy goes to its window's first arg-max; overlapping windows add up. */
function maxPoolBackward(
  dy: Values,
  dyShape: Shape,
  x: Values,
  xShape: Shape,
  a: PoolAttrs,
  outShape: Shape,
): Values {
  checkShape("maxPoolBackward", xShape, outShape);
  const dx = new Float64Array(size(xShape));
  forEachWindow(xShape, a, dyShape, (n, c, oy, ox, rows, cols) => {
    const best = argMax(x, xShape, n, c, rows, cols);
    if (best >= 0) dx[best] += dy[at4(dyShape, n, c, oy, ox)];
  });
  return dx;
}
