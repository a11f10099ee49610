/**
 * Checks the float64 reference interpreter itself against small examples
 * worked out by hand, so that other tests can trust it.
 */

import {
  add,
  avgPool,
  concat,
  constant,
  conv2d,
  input,
  matmul,
  pow,
  reduceMean,
  reduceSum,
  relu,
  reshape,
  slice,
  softmax,
  sub,
  Tensor,
  transpose,
} from "../mod.ts";
import { conv2dTranspose } from "../core/graph/ops/conv.ts";
import { broadcastTo, padConstant, padReflect } from "../core/graph/ops/layout.ts";
import { maxPool } from "../core/graph/ops/pool.ts";
import { fill } from "../core/graph/ops/source.ts";
import { evaluate } from "./support/reference.ts";
import { MAX_POOL_TIE_CASES, tieGradient } from "./support/max_pool_ties.ts";

/** Throws unless `actual` equals `expected` element by element within `tol`. */
function assertClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-12): void {
  const a = Array.from(actual);
  if (a.length !== expected.length || a.some((v, i) => !(Math.abs(v - expected[i]) <= tol))) {
    throw new Error(`expected [${expected.join(", ")}]\n     got [${a.join(", ")}]`);
  }
}

/** Throws unless `f` throws an error whose message contains `part`. */
function assertThrows(f: () => unknown, part: string): void {
  try {
    f();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!message.includes(part)) throw new Error(`expected "${part}" in "${message}"`);
    return;
  }
  throw new Error(`expected an error mentioning "${part}"`);
}

const range = (n: number, start = 1): number[] => Array.from({ length: n }, (_, i) => start + i);

/** Deterministic pseudo-random values in [-1, 1). */
function noise(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 1073741824 - 1;
  });
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

Deno.test("reference: 3×3 conv of a 3×3 image with a ones kernel, padding, stride and bias", () => {
  const x = input("x", [1, 1, 3, 3]);
  const k = constant(new Float32Array(9).fill(1), [1, 1, 3, 3]);
  const b = constant([1], [1]);
  const [same, strided] = evaluate(
    [conv2d(x, k, { padding: 1, bias: b }), conv2d(x, k, { padding: 1, stride: 2 })],
    { x: range(9) },
  );
  // Each output is the sum of its 3×3 neighbourhood of 1…9 (+1 for the bias).
  assertClose(same, [13, 22, 17, 28, 46, 34, 25, 40, 29]);
  assertClose(strided, [12, 16, 24, 28]);
});

Deno.test("reference: conv with asymmetric pads, dilation and groups", () => {
  const x = input("x", [1, 2, 3, 3]);
  // Channel 0 picks the top-left tap, channel 1 minus the bottom-right tap.
  const k = constant([1, 0, 0, 0, 0, 0, 0, -1], [2, 1, 2, 2]);
  const y = conv2d(x, k, { groups: 2, dilation: 2, padding: [1, 0, 0, 1] });
  // Padded image: one zero row on top, one zero column on the right → 4×4;
  // the dilated 2×2 kernel spans 3×3, so the output is 2×2.
  const [out] = evaluate([y], { x: [...range(9), ...range(9, 10)] });
  // Channel 0, output (i, j) reads padded (i, j) = x(i − 1, j): row −1 is zero.
  // Channel 1 reads −padded(i + 2, j + 2) = −x(i + 1, j + 2), zero past column 2.
  assertClose(out, [0, 0, 1, 2, -15, 0, -18, 0]);
});

Deno.test("reference: avg pool with padding, with and without countIncludePad", () => {
  const x = input("x", [1, 1, 3, 3]);
  const options = { kernel: 2, stride: 2, padding: [0, 0, 1, 1] } as const;
  const [excl, incl] = evaluate([
    avgPool(x, options),
    avgPool(x, { ...options, countIncludePad: true }),
  ], { x: range(9) });
  // Windows: {1,2,4,5}, {3,6}, {7,8}, {9}.
  assertClose(excl, [3, 4.5, 7.5, 9]);
  assertClose(incl, [3, 9 / 4, 15 / 4, 9 / 4]);
});

Deno.test("reference: max pool ignores padded positions", () => {
  const x = input("x", [1, 1, 3, 3]);
  const [out] = evaluate([maxPool(x, { kernel: 2, stride: 2, padding: [1, 1, 0, 0] })], {
    x: range(9).map((v) => -v),
  });
  // Windows: {-1}, {-2,-3}, {-4,-7}, {-5,-6,-8,-9}; a padded 0 would win each.
  assertClose(out, [-1, -2, -4, -5]);
});

for (const c of MAX_POOL_TIE_CASES) {
  Deno.test(`reference: maxPoolBackward at ties (${c.name})`, () => {
    const { pooled, dx } = tieGradient(c);
    if (dx.op.name !== "maxPoolBackward") throw new Error(`got op ${dx.op.name}`);
    const [forward, backward] = evaluate([pooled, dx], { x: c.x });
    assertClose(forward, c.pooled);
    assertClose(backward, c.dx);
  });
}

Deno.test("reference: strided slices", () => {
  const v = input("v", [10]);
  const m = input("m", [3, 4]);
  const [a, b] = evaluate([
    slice(v, { starts: [1], ends: [10], steps: [3] }),
    slice(m, { starts: [-3], ends: [100], axes: [1], steps: [2] }),
  ], { v: range(10, 0), m: range(12, 0) });
  assertClose(a, [1, 4, 7]);
  assertClose(b, [1, 3, 5, 7, 9, 11]);
});

Deno.test("reference: transposed conv with stride 2, pads, outputPadding and bias", () => {
  const x = input("x", [1, 1, 2, 2]);
  const [blocks, cropped] = evaluate([
    conv2dTranspose(x, constant(new Float32Array(4).fill(1), [1, 1, 2, 2]), { stride: 2 }),
    conv2dTranspose(x, constant(new Float32Array(9).fill(1), [1, 1, 3, 3]), {
      stride: 2,
      padding: 1,
      outputPadding: 1,
      bias: constant([0.5], [1]),
    }),
  ], { x: [1, 2, 3, 4] });
  // Each input value stamps a 2×2 block.
  assertClose(blocks, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  // The full 5×5 result has rows/columns {0,1,2} from index 0 and {2,3,4} from
  // index 1; the pads drop row/column 0 and the last one, outputPadding brings
  // the last one back.
  assertClose(cropped, [1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4].map((v) => v + 0.5));
});

Deno.test("reference: conv2dTranspose is the adjoint of conv2d", () => {
  // <conv(x), y> = <x, convT(y)> with the same kernel, for awkward attributes.
  const cases = [
    { x: [1, 4, 7, 6], w: [6, 2, 3, 2], stride: [2, 1], dilation: [1, 2], pads: [1, 0, 2, 1] },
    { x: [2, 3, 5, 5], w: [3, 1, 3, 3], stride: [2, 2], dilation: [1, 1], pads: [0, 1, 1, 0] },
  ] as const;
  cases.forEach((c, k) => {
    const groups = c.x[1] / c.w[1];
    const x = input("x", c.x);
    const w = constant(noise(c.w.reduce((a: number, b) => a * b, 1), 7 + k), c.w);
    const y = conv2d(x, w, { stride: c.stride, dilation: c.dilation, padding: c.pads, groups });
    const dy = input("dy", y.shape);
    const outputPadding = [0, 1].map((i) =>
      c.x[2 + i] -
      ((y.shape[2 + i] - 1) * c.stride[i] + (c.w[2 + i] - 1) * c.dilation[i] + 1 - c.pads[i] -
        c.pads[i + 2])
    ) as [number, number];
    const dx = conv2dTranspose(dy, w, {
      stride: c.stride,
      dilation: c.dilation,
      padding: c.pads,
      groups,
      outputPadding,
    });
    const xs = noise(x.size, 1 + k);
    const dys = noise(dy.size, 3 + k);
    const [yv, dxv] = evaluate([y, dx], { x: xs, dy: dys });
    const lhs = dot(yv, dys);
    const rhs = dot(xs, dxv);
    if (Math.abs(lhs - rhs) > 1e-9 * Math.max(1, Math.abs(lhs))) {
      throw new Error(`case ${k}: <conv(x), y> = ${lhs} but <x, convT(y)> = ${rhs}`);
    }
  });
});

Deno.test("reference: matmul broadcasts batch axes", () => {
  const a = input("a", [2, 1, 1, 2]);
  const b = constant([1, 0, 0, 1, 1, 1], [3, 2, 1]);
  const [out] = evaluate([matmul(a, b)], { a: [1, 2, 3, 4] });
  // Shape [2, 3, 1, 1]: every row of a times every column of b.
  assertClose(out, [1, 2, 3, 3, 4, 7]);
});

Deno.test("reference: softmax, reductions and layout ops", () => {
  const x = input("x", [2, 3]);
  const [sm, sum0, mean1, t, padded, cat, bc, arith] = evaluate([
    softmax(input("s", [2, 2]), 0),
    reduceSum(x, { axes: [0] }),
    reduceMean(x, { axes: [1], keepDims: true }),
    transpose(x),
    padConstant(x, { before: [0, 1], after: [1, 0], value: -1 }),
    concat([x, reshape(x, [2, 3])], 1),
    broadcastTo(constant([1, 2], [2, 1]), [2, 2, 3]),
    relu(add(sub(x, constant([1, 2, 3], [3])), pow(fill([1], 2), 2))),
  ], { x: [1, 2, 3, 4, 5, 6], s: [0, Math.log(3), 0, 0] });
  assertClose(sm, [0.5, 0.75, 0.5, 0.25], 1e-15);
  assertClose(sum0, [5, 7, 9]);
  assertClose(mean1, [2, 5]);
  assertClose(t, [1, 4, 2, 5, 3, 6]);
  assertClose(padded, [-1, 1, 2, 3, -1, 4, 5, 6, -1, -1, -1, -1]);
  assertClose(cat, [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  assertClose(bc, [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]);
  assertClose(arith, [4, 4, 4, 7, 7, 7]);
});

Deno.test("reference: clear errors for bad feeds and unknown ops", () => {
  const x = input("x", [2]);
  assertThrows(() => evaluate([x], {}), 'no feed for input "x"');
  assertThrows(() => evaluate([x], { x: [1, 2, 3] }), "has 3 values");
  const mystery = new Tensor(
    { name: "mystery", shape: (s) => s[0], emit: () => "" },
    [x],
    undefined,
    [2],
  );
  assertThrows(() => evaluate([mystery], { x: [1, 2] }), "no implementation for op mystery");
});

Deno.test("padReflect mirrors without repeating the edge, like numpy's reflect", () => {
  const x = constant([1, 2, 3, 4, 5, 6], [1, 1, 2, 3]);
  const [out] = evaluate([padReflect(x, 1)], {});
  // rows: [4 5 6] [1 2 3] [4 5 6] [1 2 3]; each padded by its mirror: [b a b c b]
  assertClose(out, [5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2]);
});
