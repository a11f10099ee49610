/**
 * The npm build's pieces, without npm: specifier mapping, the guard against
 * Deno-only APIs, the package.json made from deno.json, and the README's
 * Node example being the file the Node test runs (`deno task test:npm` runs
 * the real build under Node).
 */

import { join } from "node:path";
import { BuildError, checkGraph, PACKAGES, ROOT } from "../scripts/build_npm.ts";
import { loadGraph } from "../scripts/npm/compile.ts";
import {
  nodeSpecifier,
  packageOf,
  parseNpmSpecifier,
  pinnedVersion,
  relativeToJs,
  resolveImportMap,
  SpecifierError,
} from "../scripts/npm/import_map.ts";
import { packageJson } from "../scripts/npm/manifest.ts";
import { findRuntimeSpecific } from "../scripts/npm/portability.ts";
import ts from "typescript";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";

const imports = {
  "onnx-proto": "npm:onnx-proto@8.0.1",
  "onnxruntime-web/webgpu": "npm:onnxruntime-web@1.30.0/webgpu",
  "nsfwjs/": "npm:/nsfwjs@4.4.0/",
  "@scope/pkg": "npm:@scope/pkg@^2",
  "std/": "jsr:/@std/path@1/",
};

Deno.test("npm build: bare specifiers map through the import map to package names", () => {
  assertEquals(nodeSpecifier("onnx-proto", imports), "onnx-proto");
  assertEquals(nodeSpecifier("onnxruntime-web/webgpu", imports), "onnxruntime-web/webgpu");
  assertEquals(nodeSpecifier("nsfwjs/models/inception_v3", imports), "nsfwjs/models/inception_v3");
  assertEquals(nodeSpecifier("npm:@a/b@1.2.3/c/d", imports), "@a/b/c/d");
  assertEquals(resolveImportMap("nsfwjs/x", imports), "npm:/nsfwjs@4.4.0/x");
  assertEquals(parseNpmSpecifier("npm:@scope/pkg@^2"), {
    name: "@scope/pkg",
    version: "^2",
    subpath: "",
  });
  assertEquals(packageOf("@scope/pkg/sub"), "@scope/pkg");
  assertEquals(packageOf("nsfwjs/models/inception_v3"), "nsfwjs");
  assertThrows(() => nodeSpecifier("left-pad", imports), "import map");
  assert(
    assertThrows(() => nodeSpecifier("std/join", imports), "only npm:") instanceof SpecifierError,
  );
  assertThrows(() => pinnedVersion("@scope/pkg", imports), "exact version");
});

Deno.test("npm build: relative .ts imports become .js; extensionless ones are refused", () => {
  assertEquals(relativeToJs("./graph/mod.ts"), "./graph/mod.js");
  assertEquals(relativeToJs("../x.js"), "../x.js");
  assertThrows(() => relativeToJs("./graph/mod"), "extension");
});

Deno.test("npm build: Deno and node: uses are found in code, not in comments", () => {
  const source = ts.createSourceFile(
    "core/io.ts",
    [
      "/** Unlike Deno.readFile, this uses fetch. */",
      "export const a = Deno.env.get('A');",
      "const fs = await import('node:fs');",
      "export const b = typeof (globalThis as any).Deno;",
      "const name = 'node:path'; // a variable specifier",
    ].join("\n"),
    ts.ScriptTarget.ES2022,
    true,
  );
  const found = findRuntimeSpecific(source).map((p) => `${p.line}:${p.column} ${p.what}`);
  assertEquals(found, [
    "2:18 Deno-only API `Deno.env`",
    '3:25 Node built-in "node:fs"',
    "4:45 Deno-only API `(globalThis as any).Deno`",
    '5:14 Node built-in "node:path"',
  ]);
});

/** A graph of `files` (entries: mod.ts, and io.ts when given; `deps/…` files are dependencies). */
async function fixtureGraph(files: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "stylegram_npm_fixture_" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, name), text);
  }
  const deps = join(dir, "deps");
  await Deno.mkdir(deps, { recursive: true });
  const entries = ["mod.ts", "io.ts"].filter((f) => f in files).map((f) => join(dir, f));
  try {
    return loadGraph({ root: dir, entries, dependencyDir: deps, imports, nodeTypes: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("npm build: a Deno-only API reachable from mod.ts stops the build at its line", async () => {
  const graph = await fixtureGraph({
    "mod.ts": 'export * from "./core/io.ts";\n',
    "core/io.ts": [
      "/** Reads a file. */",
      "export async function read(path: string): Promise<string> {",
      "  return await Deno.readTextFile(path);",
      "}",
    ].join("\n"),
  });
  const e = assertThrows(
    () => checkGraph(graph),
    "core/io.ts:3:16: Deno-only API `Deno.readTextFile`",
  );
  assert(e instanceof BuildError);
});

Deno.test("npm build: Node built-ins and globals only in io/; never elsewhere", async () => {
  // A stand-in for @types/node: the checker tells its globals from the web's.
  const nodeTypes = {
    "deps/node_modules/@types/node/index.d.ts": [
      "declare var process: { env: Record<string, string | undefined> };",
      'declare module "node:fs/promises" { export function readFile(p: string): Promise<Uint8Array>; }',
    ].join("\n"),
  };
  const io = {
    "io.ts": 'export * from "./io/files.ts";\n',
    "io/files.ts": [
      'import { readFile } from "node:fs/promises";',
      "/** Reads a file. */",
      "export const read = (p: string): Promise<Uint8Array> => readFile(p);",
      "/** The home directory. */",
      "export const home = (): string | undefined => process.env.HOME;",
    ].join("\n"),
  };
  checkGraph(await fixtureGraph({ ...nodeTypes, ...io, "mod.ts": "export const a = 1;\n" }));
  const core = await fixtureGraph({
    ...nodeTypes,
    ...io,
    "mod.ts": 'export * from "./core/env.ts";\n',
    "core/env.ts": [
      "/** The log level. */",
      "export const level = (): string => process.env.LEVEL ?? new URL('x:y').protocol;",
      "/** The same, by a dynamic import. */",
      "export const fs = () => import('node:fs/promises');",
    ].join("\n"),
  });
  const e = assertThrows(() => checkGraph(core), "core/env.ts:2:36: Node-only global `process`");
  assert(e.message.includes('core/env.ts:4:32: Node built-in "node:fs/promises"'), e.message);
  assert(!e.message.includes("io/files.ts"), e.message);
});

Deno.test("npm build: files of cli/ reachable from mod.ts stop the build", async () => {
  const graph = await fixtureGraph({
    "mod.ts": 'export { main } from "./cli/main.ts";\n',
    "cli/main.ts": "/** Runs. */\nexport function main(): void {}\n",
  });
  assertThrows(() => checkGraph(graph), "not part of the npm package:\ncli/main.ts");
});

Deno.test("npm build: package.json takes its version and pins from deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const manifest = packageJson(config, PACKAGES) as Record<string, Record<string, string>>;
  assertEquals(manifest.version, config.version);
  const pin = (name: string) => config.imports[name].replace(`npm:${name}@`, "");
  assertEquals(manifest.dependencies, {
    nsfwjs: pin("nsfwjs"),
    "onnx-proto": pin("onnx-proto"),
    "onnxruntime-web": pin("onnxruntime-web"),
  });
  assertEquals(manifest.optionalDependencies, {
    "onnxruntime-node": pin("onnxruntime-node"),
    sharp: pin("sharp"),
  });
  assertEquals(manifest.exports, {
    ".": { types: "./mod.d.ts", default: "./mod.js" },
    "./io": { types: "./io.d.ts", default: "./io.js" },
    "./package.json": "./package.json",
  } as never);
  assertEquals(manifest.engines, { node: ">=20" });
});

Deno.test("README's npm example is npm_test/example.mjs, the file the Node test runs", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const example = await Deno.readTextFile(join(ROOT, "npm_test/example.mjs"));
  assert(
    readme.includes("```js\n" + example.trimEnd() + "\n```\n"),
    "README.md's npm section must show npm_test/example.mjs verbatim: copy it over",
  );
});
