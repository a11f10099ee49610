/**
 * `deno task web`: serves the playground.
 *
 * ```sh
 * deno task web [--port 8000] [--host 127.0.0.1] [--kv web/data/stylegram.kv] \
 *   [--assets web/dist] [--origin https://example.org]
 * ```
 *
 * Each flag can come from the environment instead: `PORT`, `HOST`,
 * `STYLEGRAM_KV` (a file path, or an `https://` KV URL with
 * `DENO_KV_ACCESS_TOKEN` set), `STYLEGRAM_ASSETS`, `STYLEGRAM_ORIGIN`.
 * Flags win. Pages are rendered with the client build's manifest
 * (`<assets>/assets/manifest.json`); without a build, placeholders.
 *
 * @module
 */

import { createApp, type RenderPage } from "./app.ts";
import { openShareStore } from "./storage.ts";
import { type ServerSettings, serverSettings } from "./settings.ts";
import { pageRenderer, type PageRequest } from "./pages.tsx";
import type { AssetManifest } from "../build.ts";

/** The real pages over the build's manifest, or `undefined` (placeholders) without a build. */
async function pagesFor(assets: string): Promise<RenderPage | undefined> {
  let manifest: AssetManifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${assets}/assets/manifest.json`));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    console.warn(
      `stylegram web: no client build in ${assets}/ (build it first); placeholder pages`,
    );
    return undefined;
  }
  const render = pageRenderer(manifest);
  return (kind, data) => render({ kind, ...data } as PageRequest);
}

if (import.meta.main) {
  let settings: ServerSettings;
  try {
    settings = serverSettings(Deno.args);
  } catch (e) {
    console.error(`stylegram web: ${(e as Error).message.split("\n")[0]}`);
    Deno.exit(2);
  }
  const store = await openShareStore(settings.kv);
  const app = await createApp({
    store,
    assetsDir: settings.assets,
    renderPage: await pagesFor(settings.assets),
    origin: settings.origin,
  });
  const server = Deno.serve({
    port: settings.port,
    hostname: settings.host,
    onListen: ({ hostname, port }) => {
      const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
      console.log(`stylegram playground on http://${shown}:${port}/ (shares in ${settings.kv})`);
    },
  }, app);
  Deno.addSignalListener("SIGINT", async () => {
    await server.shutdown();
    store.close();
    Deno.exit(130);
  });
}
