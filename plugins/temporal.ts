/**
 * Temporal consistency for video (Ruder, Dosovitskiy & Brox, "Artistic Style
 * Transfer for Videos", GCPR 2016): the squared difference between the
 * generated frame x and the previous output frame ω warped onto this one by
 * optical flow, weighted per pixel by c ∈ [0, 1] — 0 where the flow cannot be
 * trusted (disocclusions, motion boundaries), 1 elsewhere:
 *
 *     J_temporal = (1/D) · Σ_{k} c_k · (x_k − ω_k)²,   D = 3·H·W
 *
 * (k runs over every pixel and channel). The warped frame is the run's
 * reference image `previous`, its reliability c that image's mask; both are
 * given by the video driver. Written as a sum over positions, so the core can
 * evaluate it in tiles.
 *
 * @module
 */

import {
  definePlugin,
  IMAGE_LAYER,
  mul,
  type Plugin,
  reduceSum,
  square,
  sub,
} from "../core/mod.ts";

/** Options of {@linkcode temporal} (none: its weight is all there is to choose). */
export type TemporalOptions = Record<never, never>;

/** The temporal-consistency cost plugin; its reference image is `previous`. */
export const temporal: Plugin<TemporalOptions> = definePlugin<TemporalOptions>({
  name: "temporal",
  description:
    "keeps each video frame close to the previous output warped onto it, where the flow is reliable",
  reference: "previous",
  options: {},
  layers: () => [IMAGE_LAYER],
  statistics: ({ features, reference, mask }) => {
    const squares = square(sub(features(IMAGE_LAYER), reference(IMAGE_LAYER)));
    const c = mask(IMAGE_LAYER);
    return { squares: reduceSum(c ? mul(squares, c) : squares) };
  },
  cost: ({ statistics, shape }) => {
    const [, channels, h, w] = shape(IMAGE_LAYER);
    return mul(statistics.squares, 1 / (channels * h * w));
  },
});
