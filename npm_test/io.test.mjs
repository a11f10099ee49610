// stylegram/io under Node: images written and read back with sharp, the
// README's io example run as a user runs it, the file store, and the
// one-line errors for bad files.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { rgbImage } from "stylegram";
import {
  decodeImage,
  ensureRuntimeDir,
  FileStore,
  ImageError,
  readImage,
  writeImage,
} from "stylegram/io";

const dir = await mkdtemp(join(tmpdir(), "stylegram-io-"));

/** A 24×16 picture: red rises left to right, green top to bottom, blue constant. */
function picture() {
  const w = 24, h = 16, n = w * h;
  const data = new Float32Array(3 * n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      data[y * w + x] = x / (w - 1);
      data[n + y * w + x] = y / (h - 1);
      data[2 * n + y * w + x] = 0.25;
    }
  }
  return rgbImage(w, h, data);
}

test("a PNG written and read back has the same pixels (to 8 bits)", async () => {
  const image = picture();
  const path = join(dir, "picture.png");
  await writeImage(image, path);
  const back = await readImage(path);
  assert.deepEqual([back.width, back.height], [24, 16]);
  let worst = 0;
  for (let i = 0; i < image.data.length; i++) {
    worst = Math.max(worst, Math.abs(back.data[i] - image.data[i]));
  }
  assert.ok(worst <= 0.5 / 255 + 1e-6, `largest difference ${worst}`);
  assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith(".tmp")), []);
});

test("the README's io example stylises files under Node", async () => {
  const example = fileURLToPath(new URL("./io_example.mjs", import.meta.url));
  const photo = join(dir, "photo.png");
  const painting = join(dir, "painting.jpg");
  await writeImage(picture(), photo);
  await writeImage(
    rgbImage(32, 32, new Float32Array(3 * 32 * 32).map((_, i) => i % 7 / 7)),
    painting,
  );
  const out = join(dir, "out.png");
  const { stdout } = await promisify(execFile)(process.execPath, [
    example,
    photo,
    painting,
    out,
    "48",
  ]);
  assert.match(stdout, /^wrote .*out\.png: 48×32$/m);
  const result = await readImage(out);
  assert.deepEqual([result.width, result.height], [48, 32]);
});

test("bad files get one-line ImageErrors naming the file", async () => {
  await writeFile(join(dir, "text.png"), "not a picture");
  await writeFile(join(dir, "empty.jpg"), new Uint8Array());
  const cases = [
    [join(dir, "missing.png"), /missing\.png: no such file/],
    [join(dir, "empty.jpg"), /empty\.jpg: the file is empty/],
    [join(dir, "text.png"), /text\.png: not an image/],
    [dir, /is a directory/],
  ];
  for (const [path, message] of cases) {
    await assert.rejects(
      readImage(path),
      (e) => e instanceof ImageError && message.test(e.message),
    );
  }
  const full = await readFile(join(dir, "picture.png"));
  await assert.rejects(
    decodeImage(full.subarray(0, 60), "cut.png"),
    /cut\.png: corrupt or truncated/,
  );
  await assert.rejects(writeImage(picture(), join(dir, "out.gif")), /must end in \.png/);
});

test("the file store keeps values under its root; ensureRuntimeDir is harmless", async () => {
  const store = new FileStore({ root: join(dir, "cache") });
  await store.set("weights/a.bin", new Uint8Array([1, 2, 3]));
  assert.deepEqual(await store.get("weights/a.bin"), new Uint8Array([1, 2, 3]));
  assert.equal(await store.has("weights/b.bin"), false);
  await store.appendPartial("weights/b.bin", new Uint8Array([4]));
  assert.deepEqual(await store.getPartial("weights/b.bin"), new Uint8Array([4]));
  assert.ok(store.path("../x").startsWith(join(dir, "cache")));
  ensureRuntimeDir();
});
