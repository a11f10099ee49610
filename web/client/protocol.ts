/**
 * Messages between the playground page and its worker. Pixel data travels as
 * transferred ArrayBuffers (planar float RGB in, RGBA bytes out), so nothing
 * large is copied.
 *
 * @module
 */

import type { ProgressEvent, Recipe } from "../../mod.ts";
import type { PluginDescription } from "../../core/remote_plugin.ts";

/** A planar float RGB image as sent to the worker. */
export interface PlanarImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 3·width·height floats in [0, 1], planes R, G, B. */
  data: Float32Array;
}

/** An RGBA image as sent back for display. */
export interface RgbaImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 4·width·height bytes. */
  rgba: Uint8ClampedArray;
}

/** Page → worker. */
export type ToWorker =
  | {
    type: "start";
    recipe: Recipe;
    content?: PlanarImage;
    styles: PlanarImage[];
    /** Per style image, its mask over the content image (width·height values in [0, 1]), or null. */
    styleMasks?: (Float32Array | null)[];
    /** The editor's plugins: their descriptions, and a port to the sandbox their code runs in. */
    sandbox?: { port: MessagePort; plugins: PluginDescription[] };
    /**
     * The web build's network bundles: network name → URL
     * (`AssetManifest.bundles`); a network without one is made from its seed.
     */
    bundles: Readonly<Record<string, string>>;
  }
  | { type: "stop" };

/** The driver's progress events the worker forwards as they are. */
type Forwarded =
  | Extract<ProgressEvent, { type: "scale" | "warning" | "tile" }>
  | Omit<Extract<ProgressEvent, { type: "iteration" }>, "evaluations">;

/** Worker → page. */
export type FromWorker =
  | { type: "notice"; message: string }
  | Forwarded
  | { type: "preview"; image: RgbaImage; scale: number; iteration: number }
  | {
    type: "done";
    image: RgbaImage;
    backend: string;
    device: string;
    seconds: number;
    iterations: number;
    total: number;
    terms: Record<string, number>;
  }
  | { type: "stopped" }
  | { type: "error"; message: string };
