/**
 * The playground for Chromium tests and benchmarks: the web build in a
 * temporary folder, the app on a free local port (made after listening,
 * since it takes its public origin up front), a share store, and a headless
 * Chromium to drive it. `stop()` takes all of it down again.
 *
 * @module
 */

import { type Browser, chromium } from "playwright-core";
import { type AssetManifest, buildWeb } from "../web/build.ts";
import { type App, createApp } from "../web/server/app.ts";
import { openShareStore } from "../web/server/storage.ts";
import { pageRenderer, type PageRequest } from "../web/server/pages.tsx";
import { startChromium } from "./chromium.ts";

/** A running playground and the browser to test it with. */
export interface Playground {
  /** Its temporary folder (the build, the share store; free for test files). */
  tmp: string;
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /** The web build's assets (the worker bundle, the network bundles). */
  manifest: AssetManifest;
  /** The connected Chromium. */
  browser: Browser;
  /** Closes the browser, the server and the store, and removes `tmp`. */
  stop(): Promise<void>;
}

/** Starts a playground; `onRequest` sees every request before the app does. */
export async function startPlayground(
  options: { onRequest?: (req: Request) => void } = {},
): Promise<Playground> {
  const tmp = await Deno.makeTempDir({ prefix: "stylegram-playground-" });
  const manifest = await buildWeb({ outDir: `${tmp}/assets` });
  const store = await openShareStore(`${tmp}/shares.kv`);
  const render = pageRenderer(manifest);
  const served: { app?: App } = {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req, info) => {
    options.onRequest?.(req);
    return served.app!(req, info);
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  served.app = await createApp({
    store,
    assetsDir: tmp,
    origin,
    renderPage: (kind, data) => render({ kind, ...data } as PageRequest),
  });
  const chromiumProcess = await startChromium("stylegram-chromium-");
  const browser = await chromium.connectOverCDP(chromiumProcess.url);
  return {
    tmp,
    origin,
    manifest,
    browser,
    async stop() {
      await browser.close().catch(() => {});
      await chromiumProcess.stop();
      await server.shutdown();
      store.close();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    },
  };
}
