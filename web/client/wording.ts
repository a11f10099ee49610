/**
 * The core's words as a browser shows them. The core speaks for the command
 * line too: its `auto` backend tries the native one first and says so
 * ("native unavailable"), its scale notice names the `minSize` setting, a
 * few messages name flags (`--stretch-masks`) and two setting descriptions
 * mention files. In a page only auto, WebGPU and WebAssembly exist, there
 * are no files to name, and settings go by their labels.
 *
 * @module
 */

import { type Settings, SETTINGS_SCHEMA } from "../../mod.ts";
import { kebabKey } from "../../core/options.ts";

/** A notice, sorted for the page: the backend line, or a note for the user. */
export type BrowserNotice = { backend: string } | { note: string };

/** Settings whose own description speaks of files or flags: what the page says instead. */
export const BROWSER_DESCRIPTIONS: Readonly<Partial<Record<keyof Settings, string>>> = {
  network: "the feature network that compares the images",
  init: "the starting image",
};

/** Each setting's flag, as a pattern, and its label in the page. */
const FLAGS: readonly (readonly [RegExp, string])[] = Object.entries(SETTINGS_SCHEMA).flatMap(
  ([key, spec]) => {
    if (spec.cli === false) return [];
    const flag = spec.cli?.name ?? kebabKey(key);
    return [[new RegExp(`--${flag}(?![\\w-])`, "g"), `the setting “${spec.label ?? key}”`]];
  },
);

/** A message with each setting's flag replaced by the setting's label (`--stretch-masks` → “Stretch masks to their image”). */
export function browserText(text: string): string {
  let out = text;
  for (const [flag, label] of FLAGS) out = out.replace(flag, label);
  return out.replace(/\bminSize\b/g, "the smallest scale");
}

/** Drops what only makes sense where a native backend could exist. */
function withoutNative(reason: string): string {
  return reason
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part && !/^native\b/.test(part))
    .join("; ");
}

/**
 * A core notice as the page shows it: `backend: wasm (…) — native
 * unavailable; no WebGPU adapter` becomes the backend line `wasm (…) — no
 * WebGPU adapter`; the others become notes in the page's words.
 */
export function browserNotice(text: string): BrowserNotice {
  if (text.startsWith("backend: ")) {
    const line = text.slice("backend: ".length);
    const dash = line.indexOf(" — ");
    if (dash < 0) return { backend: line };
    const reason = withoutNative(line.slice(dash + 3));
    return { backend: reason ? `${line.slice(0, dash)} — ${reason}` : line.slice(0, dash) };
  }
  if (text.startsWith("webgpu: no WebGPU adapter")) {
    return { note: "WebGPU is not available in this browser: running on WebAssembly instead" };
  }
  if (text.startsWith("scales: ")) return { note: browserText(text.slice("scales: ".length)) };
  return { note: browserText(text) };
}
