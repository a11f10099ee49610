/**
 * The memory a run may use when `--max-memory` is `auto`: most of what the
 * machine has free now, leaving room for the rest of the system.
 *
 * @module
 */

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
