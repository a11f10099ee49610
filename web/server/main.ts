/**
 * `deno task web`: serves the playground.
 *
 * ```sh
 * deno task web [--port 8000] [--host 127.0.0.1] [--kv web/data/stylegram.kv] \
 *   [--assets web/dist] [--origin https://example.org] [--trust-proxy x-forwarded-for] \
 *   [--max-storage 2GiB] [--share-expiry-days 180] [--header-timeout 10] [--body-timeout 60]
 * ```
 *
 * Each flag can come from the environment instead: `PORT`, `HOST`,
 * `STYLEGRAM_KV` (a file path, or an `https://` KV URL with
 * `DENO_KV_ACCESS_TOKEN` set), `STYLEGRAM_ASSETS`, `STYLEGRAM_ORIGIN`,
 * `STYLEGRAM_TRUST_PROXY`, `STYLEGRAM_MAX_STORAGE`,
 * `STYLEGRAM_SHARE_EXPIRY_DAYS`, `STYLEGRAM_HEADER_TIMEOUT`,
 * `STYLEGRAM_BODY_TIMEOUT`. Flags win. Connections go through the
 * connection guard (header, body and idle deadlines). Pages are rendered with the client build's manifest
 * (`<assets>/assets/manifest.json`); without a build, placeholders.
 *
 * @module
 */

import { createApp, type RenderPage } from "./app.ts";
import { serveGuarded } from "./connection_guard.ts";
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
  if (!settings.origin) {
    console.warn("stylegram web: no --origin, so shared pages carry no link previews (og: tags)");
  }
  const store = await openShareStore(settings.kv);
  const shareExpiryMs = settings.shareExpiryDays * 24 * 60 * 60 * 1000;
  const app = await createApp({
    store,
    assetsDir: settings.assets,
    renderPage: await pagesFor(settings.assets),
    origin: settings.origin,
    trustProxy: settings.trustProxy,
    limits: { maxStorageBytes: settings.maxStorageBytes, shareExpiryMs },
  });
  const server = await serveGuarded(app, {
    port: settings.port,
    hostname: settings.host,
    headerTimeoutMs: settings.headerTimeout * 1000,
    bodyTimeoutMs: settings.bodyTimeout * 1000,
    onListen: ({ hostname, port }) => {
      const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
      console.log(`stylegram playground on http://${shown}:${port}/ (shares in ${settings.kv})`);
    },
  });
  // Unused shares expire: swept now and every hour (opening one also checks it).
  const sweep = () =>
    store.sweep({ maxIdleMs: shareExpiryMs }).then(
      (n) => n && console.log(`stylegram web: ${n} unused share(s) expired`),
      (e) => console.error(`stylegram web: sweeping expired shares failed: ${e.message}`),
    );
  sweep();
  const hourly = setInterval(sweep, 60 * 60 * 1000);
  // Answers in progress finish before the server goes.
  const stop = (code: number) => async () => {
    clearInterval(hourly);
    await server.shutdown();
    store.close();
    Deno.exit(code);
  };
  Deno.addSignalListener("SIGINT", stop(130));
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop(143));
}
