/**
 * Small assertions for tests (Deno's @std/assert is on JSR, which is not
 * reachable here).
 *
 * @module
 */

import { deepStrictEqual } from "node:assert";

/** Throws `message` unless `condition` holds. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Deep, strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  // Two calls: @types/node 26 (pulled in by npm packages such as tfjs) has no
  // overload taking `string | undefined`.
  if (message === undefined) deepStrictEqual(actual, expected);
  else deepStrictEqual(actual, expected, message);
}

/** `|actual − expected| ≤ tolerance`. */
export function assertAlmostEquals(actual: number, expected: number, tolerance = 1e-7): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`expected ${expected} ± ${tolerance}, got ${actual}`);
  }
}

/** Calls `fn`, expects it to throw an error whose message contains `includes`; returns it. */
export function assertThrows(fn: () => unknown, includes: string): Error {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`expected an Error, got ${String(e)}`);
    if (!e.message.includes(includes)) {
      throw new Error(
        `expected a message containing ${JSON.stringify(includes)}, got: ${e.message}`,
      );
    }
    return e;
  }
  throw new Error(`expected an error containing ${JSON.stringify(includes)}, nothing was thrown`);
}

/** Awaits `fn`, expects it to reject with an error whose message contains `includes`. */
export async function assertRejects(fn: () => Promise<unknown>, includes: string): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`expected an Error, got ${String(e)}`);
    if (!e.message.includes(includes)) {
      throw new Error(
        `expected a message containing ${JSON.stringify(includes)}, got: ${e.message}`,
      );
    }
    return e;
  }
  throw new Error(`expected a rejection containing ${JSON.stringify(includes)}, none came`);
}
