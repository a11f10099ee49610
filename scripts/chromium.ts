/**
 * Headless Chromium for the browser tests and the browser benchmark: Debian's
 * `chromium`, started with a fresh profile and remote debugging so that
 * playwright-core can drive it over CDP.
 *
 * @module
 */

/** Where Debian installs Chromium (`apt-get install chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether {@linkcode CHROMIUM} is installed. */
export function chromiumInstalled(): Promise<boolean> {
  return Deno.stat(CHROMIUM).then(() => true, () => false);
}

/** A running Chromium: its CDP URL, and how to stop it (which also removes its profile). */
export interface RunningChromium {
  /** `http://127.0.0.1:PORT`, for `chromium.connectOverCDP`. */
  url: string;
  /** Kills the browser and removes its profile. */
  stop: () => Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts headless Chromium with a fresh profile (named after `prefix`) and remote debugging. */
export async function startChromium(prefix: string): Promise<RunningChromium> {
  const profile = await Deno.makeTempDir({ prefix });
  const port = freePort();
  const child = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      `--remote-debugging-port=${port}`,
      "about:blank",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`${url}/json/version`).then(
      (r) => r.body?.cancel().then(() => r.ok),
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: async () => {
      child.kill();
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
