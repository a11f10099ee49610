/**
 * The optimisers: convergence on known problems, bounds, and never accepting
 * NaN/Inf.
 */

import { adam, type Evaluated, IterateAverage, lbfgs, type Optimizer } from "../core/optim/mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./support/assert.ts";

/** Rosenbrock in n dimensions; minimum 0 at (1, …, 1). */
function rosenbrock(x: Float32Array): Promise<Evaluated> {
  let value = 0;
  const g = new Float32Array(x.length);
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    value += 100 * a * a + b * b;
    g[i] += -400 * x[i] * a - 2 * b;
    g[i + 1] += 200 * a;
  }
  return Promise.resolve({ value, gradient: g });
}

/** Σ (x − c)², minimum at c. */
const quadratic = (c: number) => (x: Float32Array): Promise<Evaluated> => {
  let value = 0;
  const g = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    value += (x[i] - c) ** 2;
    g[i] = 2 * (x[i] - c);
  }
  return Promise.resolve({ value, gradient: g });
};

async function run<E extends Evaluated>(opt: Optimizer<E>, iterations: number) {
  await opt.start();
  let last;
  for (let i = 0; i < iterations; i++) last = await opt.step();
  return last!;
}

Deno.test("L-BFGS minimises the 10-dimensional Rosenbrock function", async () => {
  const opt = lbfgs(rosenbrock, new Float32Array(10).fill(-1.2), { history: 10 });
  const last = await run(opt, 300);
  assert(last.at.value < 1e-6, `value ${last.at.value}`);
  for (const v of opt.x) assertAlmostEquals(v, 1, 1e-3);
});

Deno.test("L-BFGS with a history of 1 still converges on a quadratic", async () => {
  const opt = lbfgs(quadratic(0.3), new Float32Array([0.9, 0.1, 0.5]), { history: 1 });
  await run(opt, 20);
  for (const v of opt.x) assertAlmostEquals(v, 0.3, 1e-5);
});

Deno.test("L-BFGS keeps pixels in the box: the minimum outside lands on the bound", async () => {
  const opt = lbfgs(quadratic(1.7), new Float32Array([0.2, 0.5, 0.9]), {
    bounds: { lower: 0, upper: 1 },
  });
  await run(opt, 30);
  for (const v of opt.x) assertEquals(v, 1);
});

Deno.test("L-BFGS never accepts a NaN point and keeps the last good iterate", async () => {
  // The minimum at 1 sits beyond a cliff at 0.5 where the function is NaN.
  const cliff = async (x: Float32Array) => {
    const e = await quadratic(1)(x);
    return x.some((v) => v > 0.5) ? { value: NaN, gradient: e.gradient } : e;
  };
  const opt = lbfgs(cliff, new Float32Array([0, 0.1]));
  await opt.start();
  let sawStall = false;
  for (let i = 0; i < 50; i++) {
    const r = await opt.step();
    assert(Number.isFinite(r.at.value), "an accepted value is finite");
    assert(opt.x.every((v) => v <= 0.5), "no accepted point is past the cliff");
    if (r.stalled) sawStall = true;
  }
  assert(sawStall, "the optimiser reports it cannot progress");
  // Everywhere NaN after the start: the step fails and says why.
  let calls = 0;
  const poisoned = (x: Float32Array) =>
    calls++ === 0
      ? quadratic(1)(x)
      : Promise.resolve({ value: Infinity, gradient: new Float32Array(x.length) });
  const opt2 = lbfgs(poisoned, new Float32Array([0.2]));
  await opt2.start();
  const r = await opt2.step();
  assertEquals(r.stalled, "non-finite");
  assertEquals([...opt2.x], [Math.fround(0.2)]);
});

Deno.test("L-BFGS options and starting point are checked", () => {
  assertThrows(
    () => lbfgs(quadratic(0), new Float32Array([1]), { history: 0 }),
    "lbfgs: history 0 must be",
  );
  assertThrows(() => lbfgs(quadratic(0), new Float32Array([NaN])), "non-finite value at index 0");
  assertThrows(() => lbfgs(quadratic(0), new Float32Array(0)), "starting point is empty");
});

Deno.test("Adam converges on a quadratic and respects bounds", async () => {
  const opt = adam(quadratic(0.25), new Float32Array([0.9, 0.6]), { learningRate: 0.05 });
  await run(opt, 400);
  for (const v of opt.x) assertAlmostEquals(v, 0.25, 1e-3);
  const boxed = adam(quadratic(-3), new Float32Array([0.5]), { bounds: { lower: 0, upper: 1 } });
  await run(boxed, 100);
  assertEquals(boxed.x[0], 0);
});

Deno.test("Adam undoes a step onto NaN and retries with a smaller rate", async () => {
  const cliff = async (x: Float32Array) => {
    const e = await quadratic(1)(x);
    return x[0] > 0.5 ? { value: NaN, gradient: e.gradient } : e;
  };
  const opt = adam(cliff, new Float32Array([0.45]), { learningRate: 0.2 });
  await opt.start();
  for (let i = 0; i < 20; i++) {
    const r = await opt.step();
    assert(Number.isFinite(r.at.value) && opt.x[0] <= 0.5);
  }
});

Deno.test("iterate averaging is bias-corrected", () => {
  const avg = new IterateAverage(2, 0.9);
  avg.update(new Float32Array([1, 2]));
  assertEquals([...avg.value()], [1, 2]);
  avg.update(new Float32Array([3, 2]));
  assertAlmostEquals(avg.value()[0], (0.09 * 1 + 0.1 * 3) / 0.19, 1e-6);
  assertThrows(() => new IterateAverage(1, 1), "decay 1 must be in [0, 1)");
});
