// The README's Node example (example.mjs), run as a user runs it, once per
// CPU backend: it must exit cleanly and lower the total cost.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const example = fileURLToPath(new URL("./example.mjs", import.meta.url));
const LINE = /^(\w+): total cost ([\d.]+) → ([\d.]+) in (\d+) iterations \((.+)\)$/m;

for (const backend of ["wasm", "native"]) {
  test(`the README example lowers the total cost on ${backend}`, async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [example, backend]);
    const m = LINE.exec(stdout);
    assert.ok(m, `unexpected output: ${stdout}`);
    const [, used, start, end, iterations] = m;
    assert.equal(used, backend);
    assert.ok(Number(iterations) > 0);
    assert.ok(Number(end) < Number(start), `cost went from ${start} to ${end}`);
  });
}
