/**
 * Mistakes get readable messages: the op, the shapes, and what was expected.
 */

import {
  add,
  avgPool,
  type BackendChoice,
  concat,
  constant,
  conv2d,
  createSession,
  input,
  matmul,
  mul,
  reshape,
  slice,
  toOnnx,
  transpose,
} from "../mod.ts";
import { ShapeError } from "../core/graph/expr.ts";
import { maxPool } from "../core/graph/ops/pool.ts";
import { assert, assertRejects, assertThrows } from "./support/assert.ts";

const x = input("x", [1, 3, 8, 8]);

Deno.test("conv2d channel mismatch names the op, both shapes and the expectation", () => {
  const k = constant(new Float32Array(4 * 2 * 9), [4, 2, 3, 3]);
  const e = assertThrows(() => conv2d(x, k), "conv2d: input has 3 channels but the kernel");
  assert(e instanceof ShapeError);
  assert(e.message.includes("[4,2,3,3]") && e.message.includes("expects 2"), e.message);
  assert(e.message.includes("input shapes [1,3,8,8], [4,2,3,3]"), e.message);
});

Deno.test("conv2d kernel larger than the input", () => {
  const k = constant(new Float32Array(2 * 3 * 81), [2, 3, 9, 9]);
  assertThrows(() => conv2d(x, k), "conv2d: kernel 9×9 (dilation 1×1) does not fit");
});

Deno.test("conv2d bad options", () => {
  const k = constant(new Float32Array(2 * 3 * 9), [2, 3, 3, 3]);
  assertThrows(() => conv2d(x, k, { stride: 0 }), "conv2d: stride 0 must be a positive integer");
  assertThrows(() => conv2d(x, k, { padding: -1 }), 'conv2d: padding -1 must be "valid", "same"');
  assertThrows(() => conv2d(x, k, { groups: 3 }), "groups 3 must be a positive divisor");
  const bias = constant(new Float32Array(3));
  assertThrows(() => conv2d(x, k, { bias }), "bias has shape [3], expected [2]");
});

Deno.test("matmul inner dimensions", () => {
  const a = input("a", [2, 3]);
  const b = input("b", [4, 5]);
  assertThrows(
    () => matmul(a, b),
    "matmul: inner dimensions differ: [2,3] has 3 columns, [4,5] has 4 rows",
  );
});

Deno.test("broadcasting failure names both shapes", () => {
  assertThrows(
    () => add(x, input("y", [4, 1])),
    "add: shapes [1,3,8,8] and [4,1] cannot be broadcast",
  );
  assertThrows(() => mul(x, constant([1, 2])), "mul: shapes [1,3,8,8] and [2] cannot be broadcast");
});

Deno.test("reshape, transpose, slice and concat", () => {
  assertThrows(() => reshape(x, [5, -1]), "reshape: cannot reshape 192 elements into");
  assertThrows(() => reshape(x, [-1, -1]), "at most one -1");
  assertThrows(() => transpose(x, [0, 1, 1, 2]), "transpose: perm [0,1,1,2] must be a permutation");
  assertThrows(() => slice(x, { starts: [5], ends: [2], axes: [2] }), "slice: range 5…2 on axis 2");
  assertThrows(
    () => slice(x, { starts: [0], ends: [2], axes: [4] }),
    "slice: axis 4 is out of range",
  );
  assertThrows(
    () => concat([x, input("z", [1, 3, 4, 8])], 1),
    "concat: all inputs must match except on axis 1",
  );
});

Deno.test("pooling windows that do not fit", () => {
  assertThrows(() => maxPool(x, { kernel: 9 }), "maxPool: window 9×9 does not fit the input 8×8");
  assertThrows(() => avgPool(input("v", [3, 8, 8]), { kernel: 2 }), "avgPool: input must be NCHW");
});

Deno.test("inputs and constants", () => {
  assertThrows(() => input("bad name", [1]), 'input: name "bad name" must be an identifier');
  assertThrows(
    () => input("y", [1, 0]),
    'input "y": shape [1,0] must be a list of positive integers',
  );
  assertThrows(() => constant([1, 2, 3], [2, 2]), "constant: 3 values do not fill shape [2,2]");
});

Deno.test("toOnnx refuses two different inputs with one name", () => {
  const a = input("same", [2]);
  const b = input("same", [2]);
  assertThrows(() => toOnnx({ y: add(a, b) }), 'two different inputs are both named "same"');
});

Deno.test("runtime: unknown backend, bad threads, wrong feeds", async () => {
  const graph = toOnnx({ y: mul(x, 2) });
  await assertRejects(
    () => createSession(graph, { backend: "cuda" as BackendChoice }),
    'backend "cuda" is unknown',
  );
  await assertRejects(
    () => createSession(graph, { backend: "wasm", threads: 0 }),
    "threads 0 must be",
  );
  const s = await createSession(graph, { backend: "wasm" });
  await assertRejects(() => s.run({}), 'run: input "x" [1,3,8,8] is missing');
  await assertRejects(
    () => s.run({ x: new Float32Array(5) }),
    'run: input "x" has 5 values, its shape [1,3,8,8] needs 192',
  );
  await assertRejects(
    () => s.run({ x: new Float32Array(192), extra: new Float32Array(1) }),
    'run: "extra" is not an input of this graph (inputs: x)',
  );
  await s.release();
  await assertRejects(() => s.run({ x: new Float32Array(192) }), "wasm: the session was released");
});
