/**
 * Share links that are safe to keep and to open: every uploaded image
 * decoded to the end, metadata stripped without touching the pixels, the
 * client counted behind a trusted proxy, a delete token, expiry of unused
 * shares, a storage quota, and link previews only from the configured
 * origin. Requests go straight to the app's handler over a temporary KV.
 */

import sharp from "sharp";
import { assert, assertEquals } from "./support/assert.ts";
import { type AppOptions, createApp } from "../web/server/app.ts";
import type { Limits } from "../web/server/limits.ts";
import { openShareStore, type ShareStore } from "../web/server/storage.ts";
import { pageRenderer } from "../web/server/pages.tsx";

const tmp = await Deno.makeTempDir({ prefix: "stylegram-safety-" });
await Deno.mkdir(`${tmp}/dist`);

const raw = (w: number, h: number, f: (x: number, y: number, c: number) => number) => {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(x, y, c);
  }
  return sharp(data, { raw: { width: w, height: h, channels: 3 } });
};
const bytesOf = async (image: sharp.Sharp) => new Uint8Array(await image.toBuffer());
const contentPng = await bytesOf(raw(48, 36, (x, y, c) => [x * 5, y * 7, 128][c]).png());
const styleJpg = await bytesOf(raw(40, 40, (x, y) => (x * 13 + y * 7) % 256).jpeg());
const resultPng = await bytesOf(raw(32, 24, (x, y, c) => (x * 8 + y * 3 + c * 50) % 256).png());
const RECIPE = { network: "tiny", size: 64, scales: 1, iterations: 10 };

type Call = (path: string, init?: RequestInit, headers?: { ip?: string }) => Promise<Response>;

async function withApp(
  fn: (call: Call, store: ShareStore) => Promise<void>,
  options: { limits?: Partial<Limits>; app?: Partial<AppOptions> } = {},
): Promise<void> {
  const store = await openShareStore(`${tmp}/kv-${crypto.randomUUID()}/shares.kv`);
  try {
    const app = await createApp({
      store,
      assetsDir: `${tmp}/dist`,
      limits: { sharesPerWindow: 1000, ...options.limits },
      renderPage: (kind, data) => `<title>${kind}</title><pre>${JSON.stringify(data)}</pre>`,
      ...options.app,
    });
    const call: Call = (path, init, { ip = "203.0.113.7" } = {}) =>
      app(new Request(`http://stylegram.test${path}`, init), {
        remoteAddr: { transport: "tcp", hostname: ip, port: 40000 } as Deno.NetAddr,
      });
    await fn(call, store);
  } finally {
    store.close();
  }
}

function shareForm(parts: { content?: Uint8Array; style?: Uint8Array } = {}): FormData {
  const form = new FormData();
  form.set("recipe", JSON.stringify(RECIPE));
  const blob = (b: Uint8Array) => new Blob([b as BlobPart]);
  form.set("content", blob(parts.content ?? contentPng), "content.png");
  form.append("style", blob(parts.style ?? styleJpg), "style.jpg");
  form.set("result", blob(resultPng), "result.png");
  return form;
}

const post = (call: Call, form: FormData, ip?: string) =>
  call("/api/shares", { method: "POST", body: form }, { ip });

async function expectError(res: Response, status: number, includes: string): Promise<void> {
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  assert(body.error.includes(includes), `"${body.error}" should contain "${includes}"`);
}

Deno.test("a truncated image is refused (400) and nothing is stored", async () => {
  await withApp(async (call, store) => {
    const noisy = await bytesOf(raw(64, 64, (x, y, c) => (x * 31 + y * 17 + c * 5) % 256).png());
    for (const cut of [noisy.subarray(0, noisy.length - 40), styleJpg.subarray(0, 500)]) {
      const res = await post(call, shareForm({ content: cut.slice() }));
      await expectError(res, 400, "corrupt or truncated image");
    }
    assertEquals(await store.usage(), 0);
  });
});

Deno.test("EXIF, XMP and text are stripped from stored images; the pixels stay exactly", async () => {
  const exif = { IFD0: { ImageDescription: "home address", Copyright: "me" } };
  const tagged = await bytesOf(
    raw(40, 40, (x, y) => (x * 13 + y * 7) % 256).withExifMerge(exif).jpeg(),
  );
  assert((await sharp(tagged).metadata()).exif, "the upload carries EXIF");
  await withApp(async (call) => {
    const created = await post(call, shareForm({ style: tagged }));
    assertEquals(created.status, 201);
    const share = await (await call(`/api/shares/${(await created.json()).id}`)).json();
    const stored = new Uint8Array(
      await (await call(`/api/images/${share.styles[0]}`)).arrayBuffer(),
    );
    const meta = await sharp(stored).metadata();
    assertEquals([meta.exif, meta.xmp, meta.iptc], [undefined, undefined, undefined]);
    const [a, b] = await Promise.all([tagged, stored].map((x) => sharp(x).raw().toBuffer()));
    assert(a.equals(b), "same pixels");
    // An EXIF turn would be lost with the EXIF: refused, with what to do.
    const turned = await bytesOf(raw(40, 40, () => 9).withMetadata({ orientation: 6 }).jpeg());
    await expectError(
      await post(call, shareForm({ style: turned })),
      400,
      "has an EXIF orientation (6); apply it to the pixels first",
    );
  });
});

Deno.test("behind a trusted proxy, clients are told apart by its header's last entry", async () => {
  await withApp(async (call) => {
    const via = (forwarded: string) =>
      call("/api/shares", {
        method: "POST",
        body: shareForm(),
        headers: { "x-forwarded-for": forwarded },
      }, { ip: "10.0.0.1" });
    assertEquals((await via("198.51.100.1")).status, 201);
    await expectError(await via("198.51.100.1"), 429, "too many shares");
    // A client cannot pick its own bucket: the proxy's entry is the last one.
    await expectError(await via("203.0.113.99, 198.51.100.1"), 429, "too many shares");
    assertEquals((await via("198.51.100.2")).status, 201);
  }, { limits: { sharesPerWindow: 1 }, app: { trustProxy: "x-forwarded-for" } });
  // Without the setting the header means nothing: one peer, one bucket.
  await withApp(async (call) => {
    const res = (f: string) =>
      post(call, shareForm(), "10.0.0.1").then(() =>
        call("/api/shares", {
          method: "POST",
          body: shareForm(),
          headers: { "x-forwarded-for": f },
        }, { ip: "10.0.0.1" })
      );
    await expectError(await res("198.51.100.7"), 429, "too many shares");
  }, { limits: { sharesPerWindow: 1 } });
});

Deno.test("the delete token deletes a share and the images no other share uses", async () => {
  await withApp(async (call, store) => {
    const first = await (await post(call, shareForm())).json();
    const other = await (await post(call, shareForm({ style: resultPng }))).json();
    assert(/^[A-Za-z0-9_-]{32}$/.test(first.deleteToken), first.deleteToken);
    const share = await (await call(`/api/shares/${first.id}`)).json();
    assertEquals(Object.keys(share).includes("deleteKey"), false, "the key is not published");
    const del = (id: string, token?: string) =>
      call(`/api/shares/${id}`, {
        method: "DELETE",
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    await expectError(await del(first.id), 403, "delete token");
    await expectError(await del(first.id, other.deleteToken), 403, "delete token");
    await expectError(await del("AAAAAAAAAAAAAAAAAAAAAA", first.deleteToken), 404, "no such share");
    const before = await store.usage();
    assertEquals((await del(first.id, first.deleteToken)).status, 204);
    await expectError(await call(`/api/shares/${first.id}`), 404, "no such share");
    assertEquals((await call(`/s/${first.id}`)).status, 404);
    // Its style image went; the content and result stay for the other share.
    assertEquals((await call(`/api/images/${share.styles[0]}`)).status, 404);
    assertEquals((await call(`/api/images/${share.content}`)).status, 200);
    assertEquals(await store.usage(), before - styleJpg.length);
    assertEquals((await call(`/api/shares/${other.id}`)).status, 200);
  });
});

Deno.test("a share unopened for the expiry time is gone; opening one keeps it", async () => {
  await withApp(async (call, store) => {
    const { id } = await (await post(call, shareForm())).json();
    const day = 24 * 60 * 60 * 1000;
    const now = Date.now();
    // Opened after 20 days of a 30-day expiry: kept, and seen again.
    assert(await store.openShare(id, { maxIdleMs: 30 * day, now: now + 20 * day }));
    assertEquals(await store.sweep({ maxIdleMs: 30 * day, now: now + 45 * day }), 0);
    assertEquals(await store.sweep({ maxIdleMs: 30 * day, now: now + 51 * day }), 1);
    assertEquals(await store.getShare(id), null);
    assertEquals(await store.usage(), 0, "its images went with it");
  });
  // Through the API, with an expiry of a millisecond.
  await withApp(async (call) => {
    const { id } = await (await post(call, shareForm())).json();
    await new Promise((r) => setTimeout(r, 5));
    await expectError(await call(`/api/shares/${id}`), 404, "no such share");
  }, { limits: { shareExpiryMs: 1 } });
});

Deno.test("storage quota: 507 when full, after expired shares are swept out to make room", async () => {
  const size = contentPng.length + styleJpg.length + resultPng.length;
  await withApp(async (call, store) => {
    assertEquals((await post(call, shareForm())).status, 201);
    assertEquals(await store.usage(), size);
    // The same images again take no room.
    assertEquals((await post(call, shareForm())).status, 201);
    await expectError(await post(call, shareForm({ style: resultPng.slice().reverse() })), 415, "");
    const other = await bytesOf(raw(40, 40, (x) => x * 6).jpeg());
    await expectError(await post(call, shareForm({ style: other })), 507, "storage is full");
  }, { limits: { maxStorageBytes: size + 100 } });
  await withApp(async (call) => {
    assertEquals((await post(call, shareForm())).status, 201);
    await new Promise((r) => setTimeout(r, 5));
    const other = await bytesOf(raw(48, 36, (x) => x * 5).png());
    assertEquals((await post(call, shareForm({ content: other }))).status, 201);
  }, { limits: { maxStorageBytes: size + 100, shareExpiryMs: 1 } });
});

Deno.test("link previews only from the configured origin, never from the Host header", async () => {
  const manifest = {
    app: "/assets/app.js",
    worker: "/assets/worker.js",
    bundles: {},
    css: "/assets/style.css",
    editor: "/assets/editor.js",
    networks: [],
  };
  for (const origin of [undefined, "https://stylegram.example"]) {
    await withApp(async (call) => {
      const { id } = await (await post(call, shareForm())).json();
      const page = await (await call(`/s/${id}`, { headers: { host: "evil.example" } })).text();
      assert(!page.includes("evil.example"), "the Host header is never echoed");
      const og = page.match(/<meta property="og:image" content="([^"]*)"/)?.[1];
      if (origin) assert(og?.startsWith(`${origin}/api/images/`), `og:image ${og}`);
      else assertEquals(og, undefined);
    }, {
      app: {
        origin,
        renderPage: (kind, data) =>
          pageRenderer(manifest)(
            { kind, ...data } as Parameters<ReturnType<typeof pageRenderer>>[0],
          ),
      },
    });
  }
});

Deno.test("a share carries plugin code; its own cost entries are held to a shape", async () => {
  const sources = [{ name: "tint.ts", code: "export const tint = 1;" }];
  await withApp(async (call) => {
    const form = shareForm();
    const plugins = [{ plugin: "style", weight: 3 }, {
      plugin: "tint",
      weight: 2,
      options: { red: 0.5 },
    }];
    form.set("recipe", JSON.stringify({ ...RECIPE, plugins, sources }));
    const res = await post(call, form);
    assertEquals(res.status, 201);
    const share = await (await call(`/api/shares/${(await res.json()).id}`)).json();
    assertEquals(share.recipe.sources, sources);
    assertEquals(share.recipe.plugins.map((p: { plugin: string }) => p.plugin), ["style", "tint"]);
    assertEquals(share.recipe.plugins[1], { plugin: "tint", weight: 2, options: { red: 0.5 } });
    const bad: [string, string][] = [
      ['[{"plugin": "tint", "weight": -1}]', "weight must be a number ≥ 0"],
      ['[{"plugin": "Tint!"}]', "plugin must be a plugin name"],
      [
        '[{"plugin": "tint", "options": {"constructor": 1}}]',
        'option "constructor" is not allowed',
      ],
      ['[{"plugin": "tint", "extra": 1}]', 'unknown field "extra"'],
      [`[{"plugin": "tint", "options": {"x": "${"y".repeat(5000)}"}}]`, "options too long"],
    ];
    for (const [list, message] of bad) {
      const f = shareForm();
      const text = JSON.stringify({ ...RECIPE, sources }).replace(/}$/, `, "plugins": ${list}}`);
      f.set("recipe", text);
      await expectError(await post(call, f), 400, message);
    }
    // Without sources, an unknown plugin is still refused.
    const plain = shareForm();
    plain.set("recipe", JSON.stringify({ ...RECIPE, plugins: [{ plugin: "tint" }] }));
    await expectError(await post(call, plain), 400, 'unknown plugin "tint"');
  });
});

Deno.test("concurrent uploads: the allowance and the quota hold", async () => {
  await withApp(async (call) => {
    const statuses = await Promise.all(
      Array.from(
        { length: 10 },
        () => post(call, shareForm(), "198.51.100.5").then((r) => r.status),
      ),
    );
    assertEquals(statuses.filter((s) => s === 201).length, 2, statuses.join(" "));
    assertEquals(statuses.filter((s) => s === 429).length, 8, statuses.join(" "));
  }, { limits: { sharesPerWindow: 2 } });
  const one = contentPng.length + styleJpg.length + resultPng.length;
  await withApp(async (call, store) => {
    const uploads = Array.from({ length: 8 }, async (_, i) => {
      const style = await bytesOf(raw(40, 40, (x, y) => (x * (i + 3) + y) % 256).jpeg());
      return (await post(call, shareForm({ style }))).status;
    });
    const statuses = await Promise.all(uploads);
    assert(statuses.includes(507) && statuses.includes(201), statuses.join(" "));
    const max = one + 2 * styleJpg.length;
    assert((await store.usage()) <= max, `usage ${await store.usage()} over the quota ${max}`);
  }, { limits: { maxStorageBytes: one + 2 * styleJpg.length } });
});

Deno.test("deleting a share while its image is uploaded again never leaves a broken image", async () => {
  await withApp(async (call, store) => {
    for (let round = 0; round < 15; round++) {
      const style = await bytesOf(raw(40, 40, (x, y) => (x * 7 + y * round) % 256).jpeg());
      const first = await (await post(call, shareForm({ style }))).json();
      const [deleted, again] = await Promise.all([
        call(`/api/shares/${first.id}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${first.deleteToken}` },
        }),
        post(call, shareForm({ style })),
      ]);
      assertEquals(deleted.status, 204);
      assertEquals(again.status, 201);
      const share = await (await call(`/api/shares/${(await again.json()).id}`)).json();
      for (const sha of [share.content, ...share.styles, share.result]) {
        const image = await store.getImage(sha);
        assert(image, `round ${round}: image ${sha} of a live share is gone`);
      }
    }
  });
});
