/**
 * The Deno work-around for growing shared WebAssembly memory (see
 * core/runtime/shared_memory.ts): memories made inside it are full size,
 * others are untouched, and `WebAssembly.Memory` is restored whatever happens.
 */

import { withFullSizeSharedMemory } from "../core/runtime/shared_memory.ts";
import { assert, assertEquals, assertRejects } from "./support/assert.ts";

const PAGE = 65536;

Deno.test("shared memories created inside are reserved at their largest heap size", async () => {
  const original = WebAssembly.Memory;
  const { shared, small, plain } = await withFullSizeSharedMemory(() =>
    Promise.resolve({
      shared: new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true }),
      small: new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true }),
      plain: new WebAssembly.Memory({ initial: 2, maximum: 100 }),
    })
  );
  assertEquals(shared.buffer.byteLength, 65535 * PAGE, "4 GiB less one page");
  assertEquals(small.buffer.byteLength, 4 * PAGE, "up to its own maximum");
  assertEquals(plain.buffer.byteLength, 2 * PAGE, "unshared memory is left alone");
  assert(shared instanceof WebAssembly.Memory, "still a WebAssembly.Memory");
  assert(shared.buffer instanceof SharedArrayBuffer, "still shared");
  assertEquals(WebAssembly.Memory, original, "constructor restored");
  // Growing a full-size memory by nothing still works.
  assertEquals(shared.grow(0), 65535);
});

Deno.test("the constructor is restored when creation fails", async () => {
  const original = WebAssembly.Memory;
  await assertRejects(
    () => withFullSizeSharedMemory(() => Promise.reject(new Error("no session"))),
    "no session",
  );
  assertEquals(WebAssembly.Memory, original);
  const after = new WebAssembly.Memory({ initial: 1, maximum: 8, shared: true });
  assertEquals(after.buffer.byteLength, PAGE, "outside the work-around sizes are as asked");
});

Deno.test("overlapping uses restore the constructor once both are done", async () => {
  const original = WebAssembly.Memory;
  let release!: () => void;
  const slow = withFullSizeSharedMemory(() => new Promise<void>((r) => release = r));
  const quick = await withFullSizeSharedMemory(() =>
    Promise.resolve(new WebAssembly.Memory({ initial: 1, maximum: 8, shared: true }))
  );
  assertEquals(quick.buffer.byteLength, 8 * PAGE);
  const during = new WebAssembly.Memory({ initial: 1, maximum: 8, shared: true });
  assertEquals(during.buffer.byteLength, 8 * PAGE, "still replaced while the slow one runs");
  release();
  await slow;
  assertEquals(WebAssembly.Memory, original);
});
