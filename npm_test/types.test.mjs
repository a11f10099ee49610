// consumer.ts, a strict TypeScript user of the package, must type-check
// against the installed declarations (tsconfig.json: nodenext resolution).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

test("a strict TypeScript consumer type-checks against the declarations", () => {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const dir = fileURLToPath(new URL(".", import.meta.url));
  const out = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], {
    cwd: dir,
    encoding: "utf8",
  });
  assert.equal(out.status, 0, `tsc found errors:\n${out.stdout}${out.stderr}`);
});
