/**
 * Builds the playground's browser assets into web/dist/assets/:
 *
 * - app.<hash>.js: the page script (Preact island), bundled for the browser;
 * - worker.<hash>.js: the worker running the core, with onnxruntime-web
 *   loaded from the copied files below;
 * - ort-<version>/: onnxruntime-web's browser builds and their .wasm files;
 * - <network>.<hash>.sgnb: a network bundle for each browser network whose
 *   weights are not generated from the seed (today InceptionV3, the
 *   playground's default), keeping the layers its defaults need (up to
 *   mixed2);
 * - networks.<hash>.json: which bundle belongs to which network, read by the
 *   worker;
 * - style.<hash>.css;
 * - manifest.json: the names above and the browser networks (from the
 *   registry's records) with their layer lists, read by the server to render
 *   pages.
 *
 * Run with `deno task web:build` (the `web` task builds first when needed).
 *
 * @module
 */

import { createRequire } from "node:module";
import { NETWORKS } from "../mod.ts";
import { decodeNetworkBundle, encodeNetworkBundle } from "../core/network/bundle.ts";
import { defaultLayers } from "../core/network/network_record.ts";
import type { NetworkChoice } from "./client/state.ts";

const ORT_VERSION = "1.30.0";
const ORT_FILES = [
  "ort.wasm.bundle.min.mjs",
  "ort.webgpu.bundle.min.mjs",
  "ort-wasm-simd-threaded.wasm",
  "ort-wasm-simd-threaded.asyncify.wasm",
];

/** What the server needs to know about the built assets. */
export interface AssetManifest {
  /** URL of the page script. */
  app: string;
  /** URL of the worker script. */
  worker: string;
  /** Network bundle URLs by network name (networks without one are seeded). */
  bundles: Record<string, string>;
  /** URL of the stylesheet. */
  css: string;
  /** URL of the plugin editor (CodeMirror), loaded when the editor opens. */
  editor: string;
  /** The networks offered in the browser. */
  networks: NetworkChoice[];
}

const here = new URL(".", import.meta.url);

async function hashName(bytes: Uint8Array, stem: string, ext: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  const hex = [...digest.slice(0, 5)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${stem}.${hex}.${ext}`;
}

async function bundle(entry: string, out: string): Promise<Uint8Array> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "--external",
      "onnxruntime-web",
      "--external",
      "onnxruntime-web/webgpu",
      "-o",
      out,
      new URL(entry, here).pathname,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!result.success) throw new Error(`web build: bundling ${entry} failed`);
  return await Deno.readFile(out);
}

/** The worker loads onnxruntime-web from the copied files: rewrite the two bare imports. */
function pointAtOrt(code: string): string {
  let out = code;
  for (
    const [specifier, file] of [
      ["onnxruntime-web/webgpu", "ort.webgpu.bundle.min.mjs"],
      ["onnxruntime-web", "ort.wasm.bundle.min.mjs"],
    ]
  ) {
    const before = out;
    out = out.replaceAll(`"${specifier}"`, `"/assets/ort-${ORT_VERSION}/${file}"`);
    if (out === before) {
      throw new Error(`web build: the worker bundle does not import ${specifier}`);
    }
  }
  return out;
}

/**
 * The plugin sandbox's page: its script inline (the server allows exactly
 * that script by its hash) and the worker's code as a base64 data block the
 * script turns into a blob worker — an opaque-origin page fetches nothing.
 */
async function sandboxPage(tmp: string): Promise<string> {
  const worker = await bundle("client/sandbox/plugin_worker.ts", `${tmp}/plugin_worker.js`);
  const host = new TextDecoder().decode(await bundle("client/sandbox/host.ts", `${tmp}/host.js`));
  if (host.includes("</script")) throw new Error("web build: the sandbox script contains </script");
  let binary = "";
  for (let i = 0; i < worker.length; i += 8192) {
    binary += String.fromCharCode(...worker.subarray(i, i + 8192));
  }
  return `<!doctype html><meta charset="utf-8"><title>stylegram plugin sandbox</title>` +
    `<script type="text/plain" id="worker">${btoa(binary)}</script>` +
    `<script type="module">${host}</script>\n`;
}

/** Builds everything into `web/dist/assets/`; returns the manifest. */
export async function buildWeb(options: { outDir?: string } = {}): Promise<AssetManifest> {
  const outDir = options.outDir ?? new URL("dist/assets/", here).pathname;
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${outDir}/ort-${ORT_VERSION}`, { recursive: true });
  const tmp = await Deno.makeTempDir({ prefix: "stylegram-web-" });
  const write = async (bytes: Uint8Array, stem: string, ext: string) => {
    const name = await hashName(bytes, stem, ext);
    await Deno.writeFile(`${outDir}/${name}`, bytes);
    return `/assets/${name}`;
  };
  try {
    const app = await write(await bundle("client/main.tsx", `${tmp}/app.js`), "app", "js");
    const workerCode = pointAtOrt(
      new TextDecoder().decode(await bundle("client/worker.ts", `${tmp}/worker.js`)),
    );
    const worker = await write(new TextEncoder().encode(workerCode), "worker", "js");
    const css = await write(await Deno.readFile(new URL("static/style.css", here)), "style", "css");
    await Deno.writeTextFile(`${outDir}/sandbox.html`, await sandboxPage(tmp));
    const editor = await write(
      await bundle("client/editor/code_editor.ts", `${tmp}/editor.js`),
      "editor",
      "js",
    );

    // onnxruntime-web's files, found through its package exports.
    const require = createRequire(import.meta.url);
    const ortDir = require.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm").replace(
      /[^/]+$/,
      "",
    );
    for (const file of ORT_FILES) {
      await Deno.copyFile(`${ortDir}${file}`, `${outDir}/ort-${ORT_VERSION}/${file}`);
    }

    // Every browser network is offered; one whose weights are read (not
    // seeded) ships as a bundle keeping only what its default layers need.
    const networks: NetworkChoice[] = [];
    const bundles: Record<string, string> = {};
    for (const record of NETWORKS.filter((n) => n.browser)) {
      let layers = (await record.describe()).layers.map((l) => l.name);
      if (!record.seeded) {
        const net = await record.load();
        const bytes = encodeNetworkBundle(net, defaultLayers(net.description));
        bundles[record.name] = await write(bytes, record.name, "sgnb");
        layers = decodeNetworkBundle(bytes).layerNames;
      }
      networks.push({ name: record.name, title: record.title, layers });
    }
    const manifest: AssetManifest = { app, worker, bundles, css, editor, networks };
    await Deno.writeTextFile(`${outDir}/manifest.json`, JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const t0 = performance.now();
  const manifest = await buildWeb();
  console.log(
    `web build: ${Object.values(manifest).filter((v) => typeof v === "string").join(", ")} in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
}
