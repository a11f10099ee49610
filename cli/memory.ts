/**
 * The memory a run may use when `--max-memory` is `auto`: most of what the
 * machine has free now, leaving room for the rest of the system.
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";
import { formatBytes, parseBytes } from "../core/tiling/budget.ts";

/** Share of the free memory an `auto` budget takes. */
export const AUTO_SHARE = 0.8;

/** Bytes an `auto` budget gives now (80 % of the free memory). */
export function autoMemory(): number {
  return Math.floor(Deno.systemMemoryInfo().available * AUTO_SHARE);
}

/** The budget as the run's first lines and `--help` say it. */
export function describeMemory(setting: string): string {
  const bytes = parseBytes(setting);
  return bytes === undefined
    ? `${formatBytes(autoMemory())} (auto: ${AUTO_SHARE * 100} % of the free memory)`
    : formatBytes(bytes);
}

let collector: (() => void) | undefined;

/**
 * V8's garbage collector, for the driver to call between scales: a large
 * run's arrays of the scale before are then gone before the next scale
 * takes its share of the budget (measured: a 4096 px run in four scales
 * peaked 5 % over a 4 GB budget without it). Exposed at run time, as the
 * command line cannot take V8 flags.
 */
export function collectGarbage(): void {
  if (!collector) {
    v8.setFlagsFromString("--expose-gc");
    collector = vm.runInNewContext("gc") as () => void;
  }
  collector();
}
