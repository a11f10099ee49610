/**
 * The CLI's file-backed weight store: atomic writes that leave no temporary
 * files, partial values, keys that cannot escape the cache directory, the
 * default directory, and a real download cached on disk and verified on the
 * next load.
 */

import { defaultCacheDir, FileStore } from "../io/file_store.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { vggDescription } from "../core/network/vgg.ts";
import { loadVggWeights } from "../core/network/vgg_weights.ts";
import { CacheError } from "../core/network/weight_errors.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./support/assert.ts";
import { encodeSafetensors, rawWeights } from "./support/safetensors_writer.ts";
import { startWeightServer } from "./support/weight_server.ts";

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "stylegram-store-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every file under `dir`, as paths relative to it. */
async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) out.push(...await listFiles(`${dir}/${entry.name}`, `${rel}/`));
    else out.push(rel);
  }
  return out.sort();
}

const bytes = (...values: number[]) => Uint8Array.from(values);

Deno.test("file store: values are written atomically, leaving no temporary files", async () => {
  await inTempDir(async (dir) => {
    const store = new FileStore({ root: `${dir}/cache` });
    assertEquals(await store.get("vgg19/features.0.weight"), undefined);
    assert(!await store.has("vgg19/features.0.weight"));
    await store.set("vgg19/features.0.weight", bytes(1, 2, 3));
    await store.set("vgg19/features.0.weight", bytes(4, 5)); // replaced whole
    assertEquals(await store.get("vgg19/features.0.weight"), bytes(4, 5));
    assert(await store.has("vgg19/features.0.weight"));
    assertEquals(await listFiles(dir), ["cache/vgg19/features.0.weight"]);
    assertEquals(store.describe("vgg19"), `${dir}/cache/vgg19`);
    await store.delete("vgg19/features.0.weight");
    assertEquals(await store.get("vgg19/features.0.weight"), undefined);
    await store.delete("never/written"); // deleting nothing is fine
    // A failed write (here: renaming over a directory) removes its temporary file.
    await store.set("d/e", bytes(1));
    await assertRejects(() => store.set("d", bytes(2)), "");
    assertEquals(await listFiles(dir), ["cache/d/e"]);
  });
});

Deno.test("file store: partial values append, read back and clear", async () => {
  await inTempDir(async (dir) => {
    const store = new FileStore({ root: dir });
    assertEquals(await store.getPartial("v/t"), undefined);
    await store.appendPartial("v/t", bytes(1, 2));
    await store.appendPartial("v/t", bytes(3));
    assertEquals(await store.getPartial("v/t"), bytes(1, 2, 3));
    // A key spelled like a partial file gets a different file.
    await store.set("v/t~partial", bytes(9));
    assertEquals(await store.getPartial("v/t"), bytes(1, 2, 3));
    assertEquals(await store.get("v/t"), undefined);
    await store.clearPartial("v/t");
    await store.clearPartial("v/t");
    assertEquals(await store.getPartial("v/t"), undefined);
    assertEquals(await listFiles(dir), ["v/t%7Epartial"]);
  });
});

Deno.test("file store: keys cannot reach outside the cache directory", async () => {
  await inTempDir(async (dir) => {
    const root = `${dir}/cache`;
    const store = new FileStore({ root });
    for (const key of ["../escape", "a/../../escape", "./x", "a\\..\\..\\b", "C:/x", "ü/*?"]) {
      await store.set(key, bytes(7));
      assertEquals(await store.get(key), bytes(7), key);
      assert(store.path(key).startsWith(`${root}/`), store.path(key));
    }
    assertEquals(
      await listFiles(dir, ""),
      [
        "cache/%2E%2E/escape",
        "cache/%2E/x",
        "cache/C%3A/x",
        "cache/a/%2E%2E/%2E%2E/escape",
        "cache/a%5C..%5C..%5Cb",
        "cache/%C3%BC/%2A%3F",
      ].sort(),
    );
    assertThrows(() => store.path("/etc/passwd"), 'FileStore: invalid key "/etc/passwd"');
    assertThrows(() => store.path("a//b"), "invalid key");
  });
});

Deno.test("file store: the default directory honours STYLEGRAM_CACHE, XDG_CACHE_HOME, HOME", () => {
  assertEquals(defaultCacheDir({ STYLEGRAM_CACHE: "/c", XDG_CACHE_HOME: "/x", HOME: "/h" }), "/c");
  assertEquals(defaultCacheDir({ XDG_CACHE_HOME: "/x", HOME: "/h" }), "/x/stylegram");
  assertEquals(defaultCacheDir({ HOME: "/h" }), "/h/.cache/stylegram");
  assertThrows(() => defaultCacheDir({}), "set STYLEGRAM_CACHE");
});

Deno.test("file store: a download is cached on disk and verified on the next load", async () => {
  const weights = randomWeights(vggDescription("vgg19"), 3);
  const server = startWeightServer(encodeSafetensors(rawWeights(weights)));
  try {
    await inTempDir(async (dir) => {
      const load = () =>
        loadVggWeights("vgg19", {
          store: new FileStore({ root: dir }), // a fresh store each time, as a new process has
          layers: ["relu1_2"],
          url: server.url,
        });
      await load();
      assertEquals(await listFiles(dir), [
        "vgg19/features.0.bias",
        "vgg19/features.0.weight",
        "vgg19/features.2.bias",
        "vgg19/features.2.weight",
        "vgg19/manifest.json",
      ]);
      server.reset();
      const again = await load();
      assertEquals(server.requests.length, 0);
      assertEquals(again.get("features.2.weight"), weights.get("features.2.weight"));
      const path = `${dir}/vgg19/features.2.weight`;
      const data = await Deno.readFile(path);
      data[100] ^= 1;
      await Deno.writeFile(path, data);
      const e = await assertRejects(load, `${path}: cached tensor "features.2.weight" of`);
      assert(e instanceof CacheError);
      assert(e.message.endsWith(`delete ${dir}/vgg19 to download it again`), e.message);
      await Deno.remove(`${dir}/vgg19`, { recursive: true });
      await load();
      assertEquals(server.requests.length, 4); // header (2) + the two layers, downloaded again
    });
  } finally {
    await server.close();
  }
});
