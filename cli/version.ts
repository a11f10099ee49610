/**
 * The version, from deno.json (one source of truth for the CLI and the npm
 * build).
 *
 * @module
 */

import config from "../deno.json" with { type: "json" };

/** stylegram's version. */
export const VERSION: string = config.version;
