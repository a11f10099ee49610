/**
 * `deno task build:npm`: writes `npm/`, the npm package of `mod.ts`
 * (`stylegram`) and `io.ts` (`stylegram/io`) — ESM JavaScript and `.d.ts`
 * for everything they reach (core, plugins, io; never `cli/`, `web/`,
 * `tests/`, `bench/`), package.json, README and LICENSE. The TypeScript
 * compiler (pinned in deno.json) type-checks the graph first; the build
 * stops, naming file and line, when code uses a Deno-only API, or when code
 * outside the Node-only `io` entry uses a Node built-in or global.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";
import {
  CompileError,
  emitGraph,
  type EmittedImport,
  loadGraph,
  type SourceGraph,
} from "./npm/compile.ts";
import { isRelative, packageOf, pinnedVersion, SpecifierError } from "./npm/import_map.ts";
import { type DenoConfig, packageJson, type PackageLayout } from "./npm/manifest.ts";
import { findRuntimeSpecific, formatProblems } from "./npm/portability.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/**
 * The package: its entry points — the root (any JavaScript runtime) and
 * `./io` (Node) — and the npm packages it may import (versions from
 * deno.json).
 */
export const PACKAGES: PackageLayout = {
  entries: { ".": "mod.ts", "./io": "io.ts" },
  dependencies: ["onnxruntime-web", "onnx-proto", "nsfwjs"],
  // Native binaries: npm skips them where they cannot install; `native` and
  // `stylegram/io` then say so.
  optionalDependencies: ["onnxruntime-node", "sharp"],
};

/** Files that may use Node's APIs: the Node-only `stylegram/io`. */
const NODE_ONLY = ["io.ts", "io/"];

/** Node's type declarations for type-checking `io/` (Node 20, our lowest). */
export const TYPES_NODE = "20.19.43";

/** Folders that are never part of the npm package. */
const EXCLUDED = ["cli/", "web/", "tests/", "bench/", "scripts/", "examples/"];

/** The README template's lines that become the Node examples, each the file a Node test runs. */
const EXAMPLES = ["npm_test/example.mjs", "npm_test/io_example.mjs"];

/** Thrown when the build must stop; the message says why. */
export class BuildError extends Error {
  /** `message` is shown as is. */
  constructor(message: string) {
    super(message);
    this.name = "BuildError";
  }
}

/** Options of {@linkcode buildNpm}. */
export interface BuildOptions {
  /** Where to write the package (default `npm/` in the repository). */
  outDir?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What {@linkcode buildNpm} wrote. */
export interface BuildResult {
  /** The package directory. */
  outDir: string;
  /** The package version. */
  version: string;
  /** Files written, relative to `outDir`. */
  files: string[];
}

async function readConfig(): Promise<DenoConfig> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  return { version: config.version, imports: config.imports ?? {} };
}

async function run(cmd: string, args: string[], options: { cwd: string }): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd: options.cwd, stdin: "null" }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new BuildError(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${err}`);
  }
}

/**
 * A directory with the dependencies in `node_modules`, for their types. Deno
 * installs them from its own cache (downloading only what is missing) and
 * runs no install scripts.
 */
async function installDependencies(config: DenoConfig): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "stylegram_npm_types_" });
  const dependencies = Object.fromEntries([
    ...[...PACKAGES.dependencies, "sharp"].map((name) => [
      name,
      pinnedVersion(name, config.imports),
    ]),
    ["@types/node", TYPES_NODE],
  ]);
  await Deno.writeTextFile(
    join(dir, "package.json"),
    JSON.stringify({ private: true, dependencies }, null, 2),
  );
  await run(Deno.execPath(), ["install", "--quiet"], { cwd: dir });
  return dir;
}

/**
 * Fails unless the graph stays out of {@linkcode EXCLUDED} folders and uses
 * web APIs only (no `Deno`; no `node:` modules or Node globals outside the
 * Node-only `io` entry), naming file and line.
 */
export function checkGraph(graph: SourceGraph): void {
  const name = (file: string) => relative(graph.root, file);
  const outside = graph.sources.map((s) => name(s.fileName))
    .filter((file) => EXCLUDED.some((dir) => file.startsWith(dir)));
  if (outside.length) {
    throw new BuildError(
      `the entries reach files that are not part of the npm package:\n${outside.join("\n")}`,
    );
  }
  const checker = graph.program.getTypeChecker();
  const nodeOnly = (file: string) => NODE_ONLY.some((p) => name(file).startsWith(p));
  const problems = graph.sources.flatMap((source) =>
    findRuntimeSpecific(source, { checker }).filter((p) =>
      p.runtime === "deno" || !nodeOnly(p.file)
    )
  );
  if (problems.length) {
    throw new BuildError(
      "code of the package must run in Node and browsers (Node's APIs only in io/), but uses:\n" +
        formatProblems(problems.map((p) => ({ ...p, file: name(p.file) }))) +
        "\nmove it to cli/ or web/ (Deno) or io/ (Node), or use a web-standard API",
    );
  }
}

/** Fails unless every emitted import names a written file or a declared package. */
function checkImports(imports: readonly EmittedImport[], files: ReadonlyMap<string, string>) {
  const allowed = new Set([...PACKAGES.dependencies, ...PACKAGES.optionalDependencies]);
  const bad: string[] = [];
  for (const { file, specifier } of imports) {
    if (specifier.startsWith("node:")) continue; // Node's own (checkGraph keeps them in io/)
    if (isRelative(specifier)) {
      const target = join(dirname(file), specifier);
      const needed = file.endsWith(".d.ts") ? target.replace(/\.js$/, ".d.ts") : target;
      if (!files.has(needed)) bad.push(`${file}: "${specifier}" names no file of the package`);
    } else if (!allowed.has(packageOf(specifier))) {
      bad.push(`${file}: "${specifier}" is not a dependency (add it to PACKAGES)`);
    }
  }
  if (bad.length) throw new BuildError(`imports the package cannot satisfy:\n${bad.join("\n")}`);
}

/**
 * JSDoc examples import from the Deno source (`from "../mod.ts"`); in the
 * package they should read as a user writes them. Code specifiers are
 * already `.js` by now, so only comment lines can match.
 */
function exampleImports(text: string): string {
  return text.replace(/^(\s*\*.*\bfrom )"\.{1,2}\/[^"]*\.ts"/gm, '$1"stylegram"');
}

async function readme(): Promise<string> {
  let text = await Deno.readTextFile(join(ROOT, "scripts/npm/package_readme.md"));
  for (const file of EXAMPLES) {
    const marker = `<!-- example: ${file} -->`;
    if (!text.includes(marker)) {
      throw new BuildError(`scripts/npm/package_readme.md lacks the line ${marker}`);
    }
    const example = await Deno.readTextFile(join(ROOT, file));
    text = text.replace(marker, "```js\n" + example.trimEnd() + "\n```");
  }
  return text;
}

async function writeTree(outDir: string, files: ReadonlyMap<string, string>): Promise<void> {
  await Deno.remove(outDir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  for (const [name, text] of files) {
    const path = join(outDir, name);
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
}

/** Builds the npm package; throws a {@linkcode BuildError} saying what stops it. */
export async function buildNpm(options: BuildOptions = {}): Promise<BuildResult> {
  const outDir = options.outDir ?? join(ROOT, "npm");
  const log = options.log ?? (() => {});
  const config = await readConfig();
  const manifest = packageJson(config, PACKAGES);

  log("installing dependency types");
  const dependencyDir = await installDependencies(config);
  try {
    log(
      `type-checking and compiling ${Object.values(PACKAGES.entries).join(", ")} with TypeScript`,
    );
    const graph = loadGraph({
      root: ROOT,
      entries: Object.values(PACKAGES.entries).map((file) => join(ROOT, file)),
      dependencyDir,
      imports: config.imports,
      nodeTypes: true,
    });
    // The portability check speaks first: a Deno-only API is also a type
    // error (no Deno types here), but this message says what to do about it.
    checkGraph(graph);
    if (graph.errors) throw new BuildError(`TypeScript found errors:\n${graph.errors}`);
    let output;
    try {
      output = emitGraph(graph);
    } catch (e) {
      if (e instanceof CompileError || e instanceof SpecifierError) {
        throw new BuildError(e.message);
      }
      throw e;
    }
    checkImports(output.imports, output.files);

    const files = new Map([...output.files].map(([name, text]) => [name, exampleImports(text)]));
    files.set("package.json", JSON.stringify(manifest, null, 2) + "\n");
    files.set("README.md", await readme());
    files.set("LICENSE", await Deno.readTextFile(join(ROOT, "LICENSE")));
    await writeTree(outDir, files);
    return { outDir, version: config.version, files: [...files.keys()].sort() };
  } finally {
    await Deno.remove(dependencyDir, { recursive: true });
  }
}

if (import.meta.main) {
  const started = performance.now();
  try {
    const result = await buildNpm({ log: (line) => console.log(`build:npm: ${line}`) });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `build:npm: wrote ${relative(ROOT, result.outDir)}/ (stylegram@${result.version}, ` +
        `${result.files.length} files) in ${seconds} s`,
    );
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    console.error(`build:npm: ${e.message}`);
    Deno.exit(1);
  }
}
