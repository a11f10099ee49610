/**
 * The playground's state, as Preact signals: the recipe being edited, the
 * images, the run and the share. One object per page, made from the props
 * the server rendered with, so server and client start from the same state.
 *
 * @module
 */

import { computed, type ReadonlySignal, type Signal, signal } from "@preact/signals";
import { BUILTIN_PLUGINS, type Plugin, type Recipe } from "../../mod.ts";
import { recipeProblem } from "./recipe_problem.ts";
import type { PickedImage } from "./images.ts";
import type { MaskPaint } from "./mask_paint.ts";
import type { PluginDescription } from "../../core/remote_plugin.ts";
import type { RgbaImage } from "./protocol.ts";

/** A network the playground offers, with what its pickers need. */
export interface NetworkChoice {
  /** Registry name. */
  name: string;
  /** One line. */
  title: string;
  /** Its layers, in order. */
  layers: string[];
}

/** A stored share, as the page receives it. */
export interface SharedRun {
  /** The share's id. */
  id: string;
  /** Image URLs: content (absent for a texture), styles, result. */
  content: string | null;
  /** Style image URLs, in order. */
  styles: string[];
  /** The stored result. */
  result: string;
  /** Per style image, the URL of its mask over the content image, or null (empty: no masks). */
  styleMasks: (string | null)[];
  /** The images' file names, for labels. */
  names: { content: string | null; styles: string[] };
}

/** What the server renders the playground with. */
export interface PlaygroundProps {
  /** The starting recipe (the default, or a share's). */
  recipe: Recipe;
  /** Networks offered in the browser. */
  networks: NetworkChoice[];
  /** URLs of the worker script, the offline network bundles and the plugin editor. */
  assets: { worker: string; bundles: Readonly<Record<string, string>>; editor?: string };
  /** Set when the page shows a share. */
  share?: SharedRun;
  /** The nonce the page's policy allows run-time `<style>` elements with (the plugin editor's). */
  styleNonce?: string;
}

/** Run progress shown under the preview. */
export interface RunStatus {
  /** Where the run is. */
  phase: "idle" | "loading" | "running" | "done" | "stopped" | "error";
  /** One line for the user (errors, notices). */
  message?: string;
  /** Notes from the run for the user (a fallback, fewer scales than asked). */
  notes?: string[];
  /** Backend and device, once known. */
  backend?: string;
  /** Scale and iteration, once running. */
  scale?: number;
  /** Number of scales. */
  scales?: number;
  /** The current scale's image size. */
  size?: { width: number; height: number };
  /** Current iteration. */
  iteration?: number;
  /** Iterations per scale. */
  iterations?: number;
  /** Milliseconds per iteration (recent mean). */
  msPerIteration?: number;
  /**
   * Within an evaluation in tiles: the pass (1 statistics, 2 gradient), the
   * windows done, and the parts of the image they count (drawn over the preview).
   */
  tile?: {
    pass: 1 | 2;
    done: number;
    windows: number;
    regions: { x: number; y: number; width: number; height: number }[];
  };
  /** Weighted total cost. */
  total?: number;
  /** Each cost term (unweighted), by label. */
  terms?: Readonly<Record<string, number>>;
}

/**
 * How far a run is, in [0, 1]: the scales done plus the share of the current
 * one; 1 when done. It never goes back during a run, since each scale starts
 * at its iteration 0.
 */
export function progressOf(s: RunStatus): number {
  if (s.phase === "done") return 1;
  if (!s.scale || !s.scales) return 0;
  const within = s.iteration && s.iterations ? Math.min(1, s.iteration / s.iterations) : 0;
  return Math.min(1, (s.scale - 1 + within) / s.scales);
}

/** All signals of one playground. */
export interface PlaygroundState {
  /** The recipe being edited. */
  recipe: Signal<Recipe>;
  /** The content image (absent: texture synthesis). */
  content: Signal<PickedImage | undefined>;
  /** The style images, in order (blend weights live in the recipe). */
  styles: Signal<PickedImage[]>;
  /** Where each style goes, painted over the content image (absent: nothing painted). */
  masks: Signal<MaskPaint | undefined>;
  /** The run. */
  status: Signal<RunStatus>;
  /** The latest preview or result. */
  image: Signal<RgbaImage | undefined>;
  /** Whether `image` is a finished result. */
  finished: Signal<boolean>;
  /**
   * The share link once made (or the open share's), or an error; `key` is
   * what was shared (see `shareKey`): while the state still matches it,
   * sharing again is pointless.
   */
  shared: Signal<{ url?: string; error?: string; busy?: boolean; key?: string }>;
  /** What the result was made from (see `inputsKey`): a result of other inputs is not shared. */
  resultFrom: Signal<string | undefined>;
  /** A one-line problem with a picked image. */
  imageError: Signal<string | undefined>;
  /** The cost plugins the page offers, by name: the built-ins and the editor's. */
  plugins: Signal<ReadonlyMap<string, Plugin>>;
  /** The editor's plugins, as the sandbox describes them (their code runs there). */
  sourcePlugins: Signal<PluginDescription[]>;
  /** Why the recipe cannot run in a browser (the schema's own message), if it cannot. */
  problem: ReadonlySignal<string | undefined>;
}

/** Fresh state from the server's props. */
export function createState(props: PlaygroundProps): PlaygroundState {
  const recipe = signal(structuredClone(props.recipe));
  const plugins = signal<ReadonlyMap<string, Plugin>>(BUILTIN_PLUGINS);
  return {
    recipe,
    plugins,
    sourcePlugins: signal([]),
    problem: computed(() => recipeProblem(recipe.value, plugins.value)),
    content: signal(undefined),
    styles: signal([]),
    masks: signal(undefined),
    status: signal({ phase: "idle" }),
    image: signal(undefined),
    finished: signal(false),
    shared: signal({}),
    resultFrom: signal(undefined),
    imageError: signal(undefined),
  };
}

/** Updates the recipe immutably. */
export function editRecipe(state: PlaygroundState, change: (r: Recipe) => void): void {
  const next = structuredClone(state.recipe.value);
  change(next);
  state.recipe.value = next;
}
