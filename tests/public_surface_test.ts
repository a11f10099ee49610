/**
 * The public surface stays small and data-driven: the package root lists at
 * most 80 names and none of the plumbing, `deno.json` exports `./io`, and
 * the examples use the two entries only, never `cli/`.
 */

import { assert, assertEquals } from "./support/assert.ts";

const root = new URL("..", import.meta.url);

async function exportedNames(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", entry],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const [module] = Object.values(doc.nodes) as { symbols: { name: string }[] }[];
  return [...new Set(module.symbols.map((s) => s.name))].sort();
}

Deno.test("the package root exports at most 80 names, none of them plumbing", async () => {
  const names = await exportedNames("mod.ts");
  assert(names.length <= 80, `${names.length} names: ${names.join(", ")}`);
  for (
    const needed of ["stylize", "definePlugin", "grad", "toOnnx", "loadNetwork", "parseRecipe"]
  ) {
    assert(names.includes(needed), `missing ${needed}`);
  }
  for (
    const internal of [
      "isFinite",
      "TensorCache",
      "MAX_HEADER_BYTES",
      "FLOAT_DTYPE_SIZES",
      "weightNames",
      "batchNormAffine",
      "loadInceptionClassifier",
      "INCEPTION_CLASSES",
    ]
  ) {
    assert(!names.includes(internal), `${internal} is exported`);
  }
});

Deno.test("deno.json exports ./io, whose entry holds the file helpers", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  assertEquals(config.exports, { ".": "./mod.ts", "./io": "./io.ts" });
  const names = await exportedNames("io.ts");
  for (const name of ["readImage", "writeImage", "FileStore", "ensureRuntimeDir"]) {
    assert(names.includes(name), `io.ts lacks ${name}`);
  }
});

Deno.test("no example imports cli/; examples use the package's two entries", async () => {
  for await (const entry of Deno.readDir(new URL("examples/", root))) {
    if (!entry.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(new URL(`examples/${entry.name}`, root));
    const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom "([^"]+)"/gm)].map((
      m,
    ) => m[1]);
    assert(specifiers.includes("../mod.ts"), `examples/${entry.name}: no import found`);
    for (const s of specifiers) {
      assert(
        s === "../mod.ts" || s === "../io.ts" || s.startsWith("node:"),
        `examples/${entry.name} imports ${s}`,
      );
    }
  }
});
