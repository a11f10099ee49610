/**
 * `deno task test:npm`: builds `npm/`, packs it, installs the tarball into a
 * fresh Node project the way a user would (`npm install`, the npm registry
 * being the only network used) and runs `npm_test/` there under Node's own
 * test runner: a strict TypeScript consumer type-checked against the
 * declarations, the README's Node example on the wasm and native backends,
 * and the package's dependencies (worker threads, onnxruntime-node, nsfwjs).
 *
 * Flags: `--junit-path=FILE` also writes a JUnit report (for CI);
 * `--keep` keeps the temporary project and prints where it is.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { BuildError, buildNpm, ROOT, TYPES_NODE } from "./build_npm.ts";
import { pinnedVersion } from "./npm/import_map.ts";

/** Files of `npm_test/` copied into the test project. */
const TEST_FILES = [
  "example.mjs",
  "example.test.mjs",
  "io_example.mjs",
  "io.test.mjs",
  "package.test.mjs",
  "types.test.mjs",
  "consumer.ts",
  "tsconfig.json",
];

/** Thrown when a step fails; the message says which and why. */
class StepError extends Error {}

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
}

async function run(
  cmd: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; capture?: boolean },
): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: options.capture ? "piped" : "inherit",
    stderr: "inherit",
  });
  const out = await child.output();
  if (!out.success) throw new StepError(`${cmd} ${args.join(" ")} exited with ${out.code}`);
  return options.capture ? new TextDecoder().decode(out.stdout) : "";
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

/** Makes the Node project: package.json naming the tarball, and the test files. */
async function makeProject(dir: string, tarball: string): Promise<void> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const manifest = {
    name: "stylegram-npm-test",
    private: true,
    type: "module",
    dependencies: { stylegram: `file:${tarball}` },
    devDependencies: {
      typescript: pinnedVersion("typescript", config.imports),
      "@types/node": TYPES_NODE,
    },
  };
  await Deno.mkdir(dir);
  await Deno.writeTextFile(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  for (const file of TEST_FILES) {
    await Deno.copyFile(join(ROOT, "npm_test", file), join(dir, file));
  }
}

async function main(args: string[]): Promise<void> {
  const junit = args.find((a) => a.startsWith("--junit-path="))?.slice("--junit-path=".length);
  const keep = args.includes("--keep");
  const started = performance.now();
  const timings: string[] = [];
  const log = (line: string) => console.log(`test:npm: ${line}`);

  let t = performance.now();
  const { outDir, version } = await buildNpm({ log });
  timings.push(`build ${seconds(t)}`);

  const work = await Deno.makeTempDir({ prefix: "stylegram_npm_test_" });
  try {
    t = performance.now();
    const packed = JSON.parse(
      await run("npm", ["pack", "--json", "--pack-destination", work], {
        cwd: outDir,
        capture: true,
      }),
    ) as PackResult[];
    const tarball = join(work, packed[0].filename);
    log(
      `packed ${basename(tarball)}: ${megabytes(packed[0].size)} ` +
        `(${megabytes(packed[0].unpackedSize)} unpacked, ${packed[0].entryCount} files)`,
    );
    timings.push(`pack ${seconds(t)}`);

    t = performance.now();
    const project = join(work, "project");
    await makeProject(project, tarball);
    log(`installing stylegram@${version} into a new Node project`);
    // onnxruntime-node's install script would fetch CUDA libraries (failing
    // offline, and then npm silently drops the optional package); its CPU
    // binary ships in the package. This is its documented switch.
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: project,
      env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
    });
    timings.push(`install ${seconds(t)}`);

    t = performance.now();
    const tests = TEST_FILES.filter((f) => f.endsWith(".test.mjs"));
    const reporters = ["--test-reporter=spec", "--test-reporter-destination=stdout"];
    if (junit) {
      await Deno.mkdir(dirname(resolve(junit)), { recursive: true });
      reporters.push("--test-reporter=junit", `--test-reporter-destination=${resolve(junit)}`);
    }
    log(`node --test ${tests.join(" ")}`);
    try {
      await run("node", ["--test", ...reporters, ...tests], { cwd: project });
    } finally {
      timings.push(`node tests ${seconds(t)}`);
    }
  } finally {
    if (keep) log(`kept ${work}`);
    else await Deno.remove(work, { recursive: true });
    log(`${timings.join(", ")}; total ${seconds(started)}`);
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    if (!(e instanceof StepError || e instanceof BuildError)) throw e;
    console.error(`test:npm: ${e.message}`);
    Deno.exit(1);
  }
}
