/**
 * `deno run -A cli.ts CONTENT STYLE [STYLE…] -o OUT`: the command-line tool.
 * See `deno run -A cli.ts --help`.
 *
 * @module
 */

import { main } from "./cli/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
