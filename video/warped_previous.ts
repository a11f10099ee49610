/**
 * The earlier outputs moved onto the current frame, for the temporal cost.
 * Short-term consistency warps the previous output; long-term consistency
 * (Ruder, Dosovitskiy & Brox 2016, §3.3) also warps outputs several frames
 * back, each through the flow between that frame and this one, so a region
 * hidden in the previous frame but seen earlier is held to what it was.
 *
 * Each pixel takes the nearest earlier frame whose flow is reliable there:
 * with 0/1 reliabilities this is Ruder's long-term weights
 * c_long(i, i−j) = max(c(i, i−j) − Σ_{l<j} c(i, i−l), 0), summed into one
 * warped image and one mask.
 *
 * @module
 */

import { type Mask, maskImage, type RgbImage, rgbImage } from "../mod.ts";
import { opticalFlow } from "./flow.ts";
import { flowReliability } from "./reliability.ts";
import { warpImage } from "./warp.ts";

/** An earlier output and the input frame it was made from. */
export interface EarlierFrame {
  /** The stylised output. */
  readonly output: RgbImage;
  /** The input frame. */
  readonly frame: RgbImage;
}

/** Warped earlier outputs, nearest first, combined per pixel; and where they can be trusted. */
export interface WarpedPrevious {
  /** Per pixel, the nearest reliable earlier output moved onto this frame. */
  readonly image: RgbImage;
  /** 1 where some earlier frame's flow is reliable, else 0. */
  readonly reliability: Mask;
}

/** One earlier output moved onto `frame`, and where its flow is reliable. */
async function warpedOne(earlier: EarlierFrame, frame: RgbImage): Promise<WarpedPrevious> {
  const backward = await opticalFlow(frame, earlier.frame);
  const forward = await opticalFlow(earlier.frame, frame);
  return {
    image: warpImage(earlier.output, backward),
    reliability: flowReliability(backward, forward),
  };
}

/**
 * The earlier outputs (nearest first) moved onto `frame`, combined: each
 * pixel from the nearest one whose flow is reliable there.
 *
 * @example
 * ```ts ignore
 * const { image, reliability } = await warpedPrevious([previous, twoBack], frame);
 * ```
 */
export async function warpedPrevious(
  earlier: readonly EarlierFrame[],
  frame: RgbImage,
): Promise<WarpedPrevious> {
  const warped = [];
  for (const e of earlier) warped.push(await warpedOne(e, frame));
  if (warped.length === 1) return warped[0];
  const n = frame.width * frame.height;
  const image = Float32Array.from(warped[0].image.data);
  const reliability = Float32Array.from(warped[0].reliability.data);
  for (const w of warped.slice(1)) {
    for (let p = 0; p < n; p++) {
      if (reliability[p] > 0 || w.reliability.data[p] === 0) continue;
      reliability[p] = w.reliability.data[p];
      for (let c = 0; c < 3; c++) image[c * n + p] = w.image.data[c * n + p];
    }
  }
  return {
    image: rgbImage(frame.width, frame.height, image),
    reliability: maskImage(frame.width, frame.height, reliability),
  };
}
