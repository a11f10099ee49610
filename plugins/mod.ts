/**
 * The built-in cost plugins, each written with the same public API a user's
 * plugin uses.
 *
 * @module
 */

import type { Plugin } from "../core/mod.ts";
import { content } from "./content.ts";
import { gramMatrix, style } from "./style.ts";
import { tv } from "./tv.ts";
import { featureStatistics, meanCovariance } from "./mean_covariance.ts";
import { temporal } from "./temporal.ts";

export { content, featureStatistics, gramMatrix, meanCovariance, style, temporal, tv };
export type { ContentOptions } from "./content.ts";
export type { StyleOptions } from "./style.ts";
export type { TvOptions } from "./tv.ts";
export type { MeanCovarianceOptions } from "./mean_covariance.ts";
export type { TemporalOptions } from "./temporal.ts";

/**
 * Built-in plugins by name, for recipes. `temporal` is not among them: it
 * needs the previous video frame, which only the video driver gives.
 */
export const BUILTIN_PLUGINS: ReadonlyMap<string, Plugin> = new Map<string, Plugin>(
  ([content, style, tv, meanCovariance] as Plugin[]).map((p) => [p.name, p]),
);
