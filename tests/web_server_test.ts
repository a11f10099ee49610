/**
 * The playground server: the share API round trip over a temporary Deno KV
 * file, image storage in chunks, every limit (size, pixels, type, animation,
 * rate), recipe validation, static assets and path traversal, security
 * headers and caching. Most requests go straight to the app's handler, with
 * `fetch` stubbed to throw, so any outbound request the server tried would
 * fail the test; one test runs it behind a real `Deno.serve`.
 */

import sharp from "sharp";
import { assert, assertEquals } from "./support/assert.ts";
import { bombPng, insertAfterIhdr, pngChunk } from "./support/png.ts";
import { type App, createApp, type RenderPage } from "../web/server/app.ts";
import { CONTENT_SECURITY_POLICY } from "../web/server/headers.ts";
import { clientKey, type Limits, RateLimiter, sniffImageType } from "../web/server/limits.ts";
import { isImmutablePath } from "../web/server/static.ts";
import { CHUNK_BYTES, openShareStore, sha256Hex, ShareStore } from "../web/server/storage.ts";
import { serverSettings } from "../web/server/settings.ts";
import { recipeProblem } from "../web/client/recipe_problem.ts";
import { BUILTIN_PLUGINS } from "../plugins/mod.ts";

const tmp = await Deno.makeTempDir({ prefix: "stylegram-web-" });

// --- test images, made with sharp -----------------------------------------

function raw(width: number, height: number, pixel: (x: number, y: number, c: number) => number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = pixel(x, y, c);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}
const bytesOf = async (image: sharp.Sharp) => new Uint8Array(await image.toBuffer());

const contentPng = await bytesOf(raw(48, 36, (x, y, c) => [x * 5, y * 7, 128][c]).png());
const styleJpg = await bytesOf(raw(40, 40, (x) => (Math.floor(x / 4) % 2 ? 230 : 20)).jpeg());
const style2Webp = await bytesOf(raw(30, 20, (x, y, c) => (x * y * (c + 1)) % 256).webp());
const resultPng = await bytesOf(raw(32, 24, (x, y, c) => (x * 8 + y * 3 + c * 50) % 256).png());
// Random pixels do not compress: about 810 kB, 14 chunks, two chunk commits.
let seed = 12345;
const noise = new Uint8Array(600 * 450 * 3).map(() => {
  seed ^= seed << 13, seed ^= seed >>> 17, seed ^= seed << 5; // xorshift32
  return seed & 255;
});
const noisePng = await bytesOf(
  sharp(noise, { raw: { width: 600, height: 450, channels: 3 } }).png({ compressionLevel: 0 }),
);
const frame = (colour: string) =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: colour } }).png().toBuffer();
const frames = [await frame("#f00"), await frame("#00f")];
// sharp 0.34 joins inputs into an animation; its typings predate that.
const animated = (format: "gif" | "webp") =>
  bytesOf(
    // deno-lint-ignore no-explicit-any
    (sharp as any)(frames, { join: { animated: true } })[format]() as sharp.Sharp,
  );
const animatedGif = await animated("gif");
const animatedWebp = await animated("webp");
const stillGif = await bytesOf(sharp(frames[0]).gif());
// An APNG: a real PNG with an animation control chunk (libvips sees one frame).
const apng = insertAfterIhdr(resultPng, pngChunk("acTL", new Uint8Array([0, 0, 0, 2, 0, 0, 0, 0])));

// --- a fake client build, with something secret beside it ------------------

const dist = `${tmp}/dist`;
await Deno.mkdir(`${dist}/assets/ort-1.30.0`, { recursive: true });
const jsText = "console.log('app');";
await Deno.writeTextFile(`${dist}/assets/app.64ae97ff31.js`, jsText);
await Deno.writeTextFile(`${dist}/assets/style.css`, "body { margin: 0 }");
await Deno.writeFile(`${dist}/assets/ort-1.30.0/ort-wasm.wasm`, new Uint8Array([0, 97, 115, 109]));
await Deno.writeTextFile(`${dist}/assets/ort-1.30.0/ort.bundle.mjs`, "export {};");
await Deno.writeTextFile(`${dist}/.env`, "SECRET=hidden-dotfile");
const secret = "TOP-SECRET-OUTSIDE-DIST";
await Deno.writeTextFile(`${tmp}/secret.txt`, secret);
await Deno.symlink(`${tmp}/secret.txt`, `${dist}/assets/link.txt`);

// --- the app under test ------------------------------------------------------

const testPage: RenderPage = (kind, data) =>
  `<!doctype html><title>${kind}</title><pre>${JSON.stringify(data).replaceAll("<", "&lt;")}</pre>`;

const clientInfo = (ip: string) => ({
  remoteAddr: { transport: "tcp", hostname: ip, port: 40000 } as Deno.NetAddr,
});

type Call = (path: string | Request, init?: RequestInit, ip?: string) => Promise<Response>;

/** Runs `fn` against a fresh app and KV file; every call runs with `fetch` stubbed to throw. */
async function withApp(
  fn: (call: Call, store: ShareStore, kvPath: string) => Promise<void>,
  limits: Partial<Limits> = {},
): Promise<void> {
  const kvPath = `${tmp}/kv-${crypto.randomUUID()}/shares.kv`;
  const store = await openShareStore(kvPath);
  try {
    // Every attempt costs a token: tests of the other limits need a large allowance.
    const all = { sharesPerWindow: 1000, ...limits };
    const app: App = await createApp({ store, assetsDir: dist, limits: all, renderPage: testPage });
    const call: Call = async (path, init, ip = "203.0.113.7") => {
      const realFetch = globalThis.fetch;
      const outbound: string[] = [];
      globalThis.fetch = (input) => {
        outbound.push(String(input));
        return Promise.reject(new Error("the server must not fetch anything"));
      };
      try {
        const req = typeof path === "string"
          ? new Request(`http://stylegram.test${path}`, init)
          : path;
        return await app(req, clientInfo(ip));
      } finally {
        globalThis.fetch = realFetch;
        assertEquals(outbound, [], "outbound fetches");
      }
    };
    await fn(call, store, kvPath);
  } finally {
    store.close();
  }
}

const RECIPE = { network: "tiny", size: 64, scales: 1, iterations: 10 };

interface FormParts {
  recipe?: unknown;
  content?: Uint8Array | null;
  styles?: Uint8Array[];
  result?: Uint8Array | null;
  extra?: [string, string | Blob][];
}

function shareForm(parts: FormParts = {}): FormData {
  const form = new FormData();
  const recipe = parts.recipe ?? RECIPE;
  form.set("recipe", typeof recipe === "string" ? recipe : JSON.stringify(recipe));
  const blob = (b: Uint8Array, type = "image/png") => new Blob([b as BlobPart], { type });
  const content = parts.content === undefined ? contentPng : parts.content;
  if (content) form.set("content", blob(content), "content.png");
  for (const [i, s] of (parts.styles ?? [styleJpg]).entries()) {
    form.append("style", blob(s, "image/jpeg"), `style${i}.jpg`);
  }
  const result = parts.result === undefined ? resultPng : parts.result;
  if (result) form.set("result", blob(result), "result.png");
  for (const [name, value] of parts.extra ?? []) form.append(name, value);
  return form;
}

const post = (call: Call, form: FormData, ip?: string) =>
  call("/api/shares", { method: "POST", body: form }, ip);

/** Expects a JSON error answer with `status` whose message contains `includes`. */
async function expectError(res: Response, status: number, includes: string): Promise<string> {
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  assert(res.headers.get("content-type")?.startsWith("application/json"), "JSON error");
  assertEquals(Object.keys(body), ["error"]);
  assert(typeof body.error === "string" && !body.error.includes("\n"), "one line");
  assert(body.error.includes(includes), `"${body.error}" should contain "${includes}"`);
  return body.error;
}

async function countKeys(kvPath: string, prefix: string[]): Promise<number> {
  const kv = await Deno.openKv(kvPath);
  try {
    let n = 0;
    for await (const _ of kv.list({ prefix })) n++;
    return n;
  } finally {
    kv.close();
  }
}

// --- the API round trip --------------------------------------------------------

Deno.test("a share round-trips: 201 with an id and url, the share JSON, identical image bytes", async () => {
  await withApp(async (call, _store, kvPath) => {
    const created = await post(
      call,
      shareForm({ styles: [styleJpg, style2Webp], recipe: { ...RECIPE, styleWeights: [2, 1] } }),
    );
    assertEquals(created.status, 201);
    const { id, url } = await created.json();
    assert(/^[A-Za-z0-9_-]{22}$/.test(id), id);
    assertEquals(url, `/s/${id}`);
    assertEquals(created.headers.get("location"), url);

    const got = await call(`/api/shares/${id}`);
    assertEquals(got.status, 200);
    const share = await got.json();
    assertEquals(Object.keys(share).sort(), [
      "content",
      "createdAt",
      "id",
      "names",
      "recipe",
      "result",
      "styles",
    ]);
    assertEquals(share.id, id);
    assertEquals(share.names, { content: "content.png", styles: ["style0.jpg", "style1.jpg"] });
    assertEquals(share.content, await sha256Hex(contentPng));
    assertEquals(share.styles, [await sha256Hex(styleJpg), await sha256Hex(style2Webp)]);
    assertEquals(share.result, await sha256Hex(resultPng));
    assert(!Number.isNaN(Date.parse(share.createdAt)), share.createdAt);
    // The stored recipe is the checked one, defaults filled in.
    assertEquals(share.recipe.version, 1);
    assertEquals(share.recipe.network, "tiny");
    assertEquals(share.recipe.styleWeights, [2, 1]);
    assertEquals(share.recipe.plugins.map((p: { plugin: string }) => p.plugin), [
      "content",
      "style",
      "tv",
    ]);

    for (
      const [sha, bytes, type] of [
        [share.content, contentPng, "image/png"],
        [share.styles[0], styleJpg, "image/jpeg"],
        [share.styles[1], style2Webp, "image/webp"],
        [share.result, resultPng, "image/png"],
      ] as const
    ) {
      const res = await call(`/api/images/${sha}`);
      assertEquals(res.status, 200);
      assertEquals(res.headers.get("content-type"), type);
      assertEquals(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assertEquals(res.headers.get("etag"), `"${sha}"`);
      assertEquals(new Uint8Array(await res.arrayBuffer()), bytes);
    }
    assertEquals(await countKeys(kvPath, ["image"]), 4);
  });
});

Deno.test("images are stored once: the same bytes twice in a share and across shares", async () => {
  await withApp(async (call, _store, kvPath) => {
    const a = await post(call, shareForm({ styles: [styleJpg, styleJpg] }));
    assertEquals(a.status, 201);
    const share = await (await call(`/api/shares/${(await a.json()).id}`)).json();
    assertEquals(share.styles[0], share.styles[1]);
    assertEquals(await countKeys(kvPath, ["image"]), 3);
    const chunksBefore = await countKeys(kvPath, ["image_chunk"]);
    const b = await post(call, shareForm({ styles: [styleJpg] }));
    assertEquals(b.status, 201);
    assertEquals(await countKeys(kvPath, ["image"]), 3);
    assertEquals(await countKeys(kvPath, ["image_chunk"]), chunksBefore);
  });
});

Deno.test("a texture share has no content image", async () => {
  await withApp(async (call) => {
    const recipe = { ...RECIPE, plugins: [{ plugin: "style", weight: 10 }] };
    const res = await post(call, shareForm({ content: null, recipe }));
    assertEquals(res.status, 201);
    const share = await (await call(`/api/shares/${(await res.json()).id}`)).json();
    assertEquals(share.content, null);
    assertEquals(share.recipe.plugins.map((p: { plugin: string }) => p.plugin), ["style"]);
    assertEquals(share.recipe.plugins[0].weight, 10);
  });
});

Deno.test("style masks: one entry per style (a file or none) are stored and returned; bad ones → 400", async () => {
  const maskPng = await bytesOf(raw(48, 36, (x) => (x < 24 ? 255 : 0)).png());
  const png = (b: Uint8Array) => new Blob([b as BlobPart], { type: "image/png" });
  await withApp(async (call, _store, kvPath) => {
    const res = await post(
      call,
      shareForm({
        styles: [styleJpg, style2Webp],
        extra: [["style-mask", png(maskPng)], ["style-mask", "none"]],
      }),
    );
    assertEquals(res.status, 201);
    const share = await (await call(`/api/shares/${(await res.json()).id}`)).json();
    assertEquals(share.styleMasks, [await sha256Hex(maskPng), null]);
    const image = await call(`/api/images/${share.styleMasks[0]}`);
    assertEquals(new Uint8Array(await image.arrayBuffer()), maskPng);
    const before = await countKeys(kvPath, ["share"]);
    const refused: [FormParts, number, string][] = [
      [
        { extra: [["style-mask", png(maskPng)], ["style-mask", "none"]] },
        400,
        "expected one entry per style image (1)",
      ],
      [
        { extra: [["style-mask", png(resultPng)]] },
        400,
        "style-mask[0]: 32×24 does not match the content image's 48×36",
      ],
      [{ extra: [["style-mask", "sky.png"]] }, 400, `a text entry must be "none"`],
      [{ extra: [["style-mask", "none"]] }, 400, `every entry is "none"`],
      [
        {
          content: null,
          recipe: { ...RECIPE, plugins: [{ plugin: "style", weight: 1 }] },
          extra: [["style-mask", png(maskPng)]],
        },
        400,
        "masks need a content image",
      ],
      [{ extra: [["style-mask", new Blob(["not an image"])]] }, 415, "style-mask[0]"],
      [
        { recipe: { ...RECIPE, masks: { styles: ["/etc/passwd"] } } },
        400,
        "masks travel in a share as style-mask files",
      ],
    ];
    for (const [parts, status, message] of refused) {
      await expectError(await post(call, shareForm(parts)), status, message);
    }
    assertEquals(await countKeys(kvPath, ["share"]), before, "nothing stored for a refused share");
  });
});

Deno.test("the share page renders the share through renderPage; an unknown one is the HTML 404 page", async () => {
  await withApp(async (call) => {
    const { id } = await (await post(call, shareForm())).json();
    const page = await call(`/s/${id}`);
    assertEquals(page.status, 200);
    assertEquals(page.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await page.text();
    assert(html.includes("<title>share</title>") && html.includes(id), html);
    assert(!html.includes('"origin"'), "no origin unless configured: never the Host header's");
    assert(html.includes('"width":48,"height":36'), "image sizes given to the page");
    const home = await call("/");
    assertEquals(home.status, 200);
    assert((await home.text()).includes("<title>home</title>"));
    for (const path of ["/s/AAAAAAAAAAAAAAAAAAAAAA", "/s/nope", "/no/such/page"]) {
      const missing = await call(path);
      assertEquals(missing.status, 404, path);
      assert((await missing.text()).includes("<title>notFound</title>"), path);
    }
  });
});

// --- storage ----------------------------------------------------------------------

Deno.test("storage: an image larger than many chunks round-trips; chunks fit KV; meta is required", async () => {
  const kvPath = `${tmp}/storage-${crypto.randomUUID()}.kv`;
  const store = await openShareStore(kvPath);
  try {
    assert(noisePng.length > 12 * CHUNK_BYTES, `${noisePng.length} bytes: several commits`);
    const { sha, added } = await store.putImage(noisePng, {
      type: "image/png",
      width: 600,
      height: 450,
    });
    assert(added, "stored by this call");
    assertEquals(sha, await sha256Hex(noisePng));
    assert(await store.hasImage(sha));
    const got = await store.getImage(sha);
    assert(got);
    const { generation, storedAt, ...meta } = got.meta;
    assertEquals(meta, {
      type: "image/png",
      width: 600,
      height: 450,
      bytes: noisePng.length,
      chunks: Math.ceil(noisePng.length / CHUNK_BYTES),
      refs: 0,
    });
    assert(typeof generation === "string" && typeof storedAt === "number");
    assertEquals(got.bytes, noisePng);
    assertEquals(await store.putImage(noisePng, got.meta), { sha, added: false }, "same key");

    const kv = await Deno.openKv(kvPath);
    try {
      let chunks = 0;
      for await (const entry of kv.list<Uint8Array>({ prefix: ["image_chunk", sha] })) {
        assert(entry.value.length <= 65536, "under KV's value limit");
        chunks++;
      }
      assertEquals(chunks, got.meta.chunks);
      // Chunks without their meta record (an interrupted upload) are invisible.
      const orphan = "ab".repeat(32);
      await kv.set(["image_chunk", orphan, 0], new Uint8Array(10));
    } finally {
      kv.close();
    }
    assertEquals(await store.hasImage("ab".repeat(32)), false);
    assertEquals(await store.getImage("ab".repeat(32)), null);
    assertEquals(await store.getImage("../../x"), null);
  } finally {
    store.close();
  }
});

Deno.test("storage: a share is never overwritten; a taken id is replaced by a fresh one", async () => {
  const taken = "AAAAAAAAAAAAAAAAAAAAAA";
  const ids = [taken, taken, "BBBBBBBBBBBBBBBBBBBBBB"];
  const store = new ShareStore(await Deno.openKv(":memory:"), { newId: () => ids.shift()! });
  try {
    const image = { type: "image/png" as const, width: 32, height: 24 };
    const { sha: result } = await store.putImage(resultPng, image);
    const { sha: style } = await store.putImage(styleJpg, { ...image, type: "image/jpeg" });
    const first = await store.createShare({ recipe: { tag: 1 } as never, styles: [style], result });
    assertEquals(first, taken);
    const second = await store.createShare({
      recipe: { tag: 2 } as never,
      styles: [style, style],
      result,
    });
    assertEquals(second, "BBBBBBBBBBBBBBBBBBBBBB");
    assertEquals((await store.getShare(taken))?.recipe, { tag: 1 } as never);
    assertEquals((await store.getShare(taken))?.styles, [style]);
    await store.createShare({ recipe: {} as never, styles: ["f".repeat(64)], result }).then(
      () => {
        throw new Error("a share of unknown images was stored");
      },
      (e: Error) => assert(e.message.includes("not stored"), e.message),
    );
  } finally {
    store.close();
  }
});

Deno.test("two shares get different ids, and a client cannot choose one", async () => {
  await withApp(async (call) => {
    const a = (await (await post(call, shareForm())).json()).id;
    const b = (await (await post(call, shareForm())).json()).id;
    assert(a !== b, "ids differ");
    await expectError(
      await post(call, shareForm({ extra: [["id", a]] })),
      400,
      'unknown form field "id"',
    );
    assertEquals((await (await call(`/api/shares/${a}`)).json()).id, a);
  });
});

// --- limits -----------------------------------------------------------------------

Deno.test("body size: 413 on a declared, an undeclared and a falsely declared oversized body", async () => {
  await withApp(async (call) => {
    const big = shareForm({ styles: [noisePng] });
    await expectError(await post(call, big), 413, "request body over");

    // A body with no length, produced forever: reading stops just past the limit.
    let produced = 0, cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        produced += 16384;
        controller.enqueue(new Uint8Array(16384));
      },
      cancel() {
        cancelled = true;
      },
    });
    const res = await call("/api/shares", {
      method: "POST",
      body: endless,
      headers: { "content-type": "multipart/form-data; boundary=x" },
    });
    await expectError(res, 413, "request body over");
    assert(produced <= 100_000 + 2 * 16384, `read ${produced} bytes`);
    assert(cancelled, "the body stream was cancelled");

    const lying = new Request("http://stylegram.test/api/shares", {
      method: "POST",
      body: new Uint8Array(300_000),
      headers: { "content-length": "100", "content-type": "multipart/form-data; boundary=x" },
    });
    assertEquals(lying.headers.get("content-length"), "100");
    await expectError(await call(lying), 413, "request body over");
  }, { maxBodyBytes: 100_000 });
});

Deno.test("pixel limit: 413 from the header alone (a 40000×40000 PNG bomb), and a configured limit", async () => {
  await withApp(async (call) => {
    await expectError(
      await post(call, shareForm({ styles: [bombPng(40000, 40000)] })),
      413,
      "style[0]: 40000×40000 is over the",
    );
  });
  await withApp(async (call) => {
    await expectError(await post(call, shareForm()), 413, "content: 48×36 is over the");
  }, { maxPixels: 1000 });
});

Deno.test("image type by magic bytes: text named .png, a GIF, an empty file → 415", async () => {
  await withApp(async (call) => {
    const text = new TextEncoder().encode("<script>alert(1)</script> not an image");
    const cases: [FormParts, string][] = [
      [{ styles: [text] }, "style[0]: not a PNG, JPEG or WebP"],
      [{ content: text }, "content: not a PNG, JPEG or WebP"],
      [{ result: text }, "result: not a PNG, JPEG or WebP"],
      [{ styles: [stillGif] }, "style[0]: not a PNG, JPEG or WebP"],
      [{ styles: [new Uint8Array()] }, "style[0]: not a PNG, JPEG or WebP"],
    ];
    for (const [parts, message] of cases) {
      await expectError(await post(call, shareForm(parts)), 415, message);
    }
    // Right magic bytes, broken header.
    await expectError(
      await post(call, shareForm({ styles: [contentPng.slice(0, 20)] })),
      400,
      "corrupt",
    );
  });
  assertEquals(sniffImageType(contentPng), "image/png");
  assertEquals(sniffImageType(styleJpg), "image/jpeg");
  assertEquals(sniffImageType(style2Webp), "image/webp");
  assertEquals(sniffImageType(stillGif), null);
});

Deno.test("animated images are refused: GIF, WebP and APNG → 415", async () => {
  await withApp(async (call) => {
    await expectError(await post(call, shareForm({ styles: [animatedGif] })), 415, "style[0]");
    await expectError(
      await post(call, shareForm({ styles: [animatedWebp] })),
      415,
      "style[0]: animated images are not accepted",
    );
    await expectError(
      await post(call, shareForm({ result: apng })),
      415,
      "result: animated images are not accepted",
    );
  });
});

Deno.test("recipes: malformed JSON, schema errors, unknown plugins and fields → 400 naming the problem", async () => {
  await withApp(async (call) => {
    const cases: [unknown, string][] = [
      ["{ not json", "recipe: malformed JSON"],
      ["[1, 2]", "recipe: must be a JSON object"],
      [{ size: 100000 }, "size"],
      [{ size: "big" }, "size"],
      [{ optimizer: "sgd" }, "optimizer"],
      [{ plugins: [{ plugin: "nope" }] }, 'unknown plugin "nope"'],
      [{ plugins: [{ plugin: "style", weight: 1, url: "http://x" }] }, 'unknown field "url"'],
      [
        { network: "/etc/passwd" },
        "network must be one of auto, inception, random, tiny in a browser",
      ],
      [{ styleWeights: [1, 2, 3] }, "styleWeights has 3 weights for 1 style image(s)"],
      [{ version: 2 }, "version 2 is not supported"],
    ];
    for (const [recipe, message] of cases) {
      await expectError(await post(call, shareForm({ recipe })), 400, message);
    }
    await expectError(
      await post(call, shareForm({ recipe: JSON.stringify({ network: "x".repeat(50000) }) })),
      413,
      "recipe: longer than",
    );
  });
});

Deno.test("browser limits: the server refuses exactly what the page's own check refuses, with its words", async () => {
  const over: Record<string, unknown>[] = [
    { size: 4112 },
    { size: 8192, scales: 8, iterations: 100000 },
    { maxMemory: "8GB" },
    { iterations: 2001 },
    { scales: 5 },
    { minSize: 2048 },
    { history: 21 },
    { backend: "native" },
    { network: "vgg19" },
    { network: "random", init: "image" },
    { plugins: [{ plugin: "style", weight: 1, options: { scale: 0 } }] },
    // Keys of Object.prototype are no options (JSON.parse makes them own keys).
    JSON.parse('{"__proto__": {"size": 64}}'),
    JSON.parse('{"constructor": 1}'),
    JSON.parse('{"toString": "x"}'),
  ];
  const within: Record<string, unknown>[] = [
    { network: "tiny", size: 64, scales: 1, iterations: 10 },
    { network: "random", size: 1024, minSize: 1024, iterations: 2000, scales: 4, history: 20 },
    { network: "auto", backend: "wasm", init: "gray" },
  ];
  await withApp(async (call) => {
    for (const recipe of over) {
      const page = recipeProblem(recipe, BUILTIN_PLUGINS);
      assert(page !== undefined, `the page accepts ${JSON.stringify(recipe)}`);
      const error = await expectError(await post(call, shareForm({ recipe })), 400, "recipe");
      assertEquals(error, page, JSON.stringify(recipe));
    }
    for (const recipe of within) {
      assertEquals(recipeProblem(recipe, BUILTIN_PLUGINS), undefined, JSON.stringify(recipe));
      const res = await post(call, shareForm({ recipe }));
      assertEquals(res.status, 201, JSON.stringify(await res.json()));
    }
  });
});

Deno.test("no server-side fetching: a recipe smuggling an image URL is an unknown field, nothing fetched", async () => {
  await withApp(async (call) => {
    // `call` stubs fetch to throw and asserts that nothing was attempted.
    const recipe = { ...RECIPE, image: "http://169.254.169.254/latest/meta-data" };
    await expectError(await post(call, shareForm({ recipe })), 400, 'unknown option "image"');
    const form = shareForm();
    form.append("styleUrl", "http://example.com/x.png");
    await expectError(await post(call, form), 400, 'unknown form field "styleUrl"');
  });
});

Deno.test("form shape: multipart only, one recipe, 1–8 styles, one result, files not text", async () => {
  await withApp(async (call) => {
    await expectError(
      await call("/api/shares", {
        method: "POST",
        body: JSON.stringify({ recipe: RECIPE }),
        headers: { "content-type": "application/json" },
      }),
      415,
      "multipart/form-data",
    );
    await expectError(
      await call("/api/shares", {
        method: "POST",
        body: "garbage",
        headers: { "content-type": "multipart/form-data; boundary=zzz" },
      }),
      400,
      "malformed multipart",
    );
    const noRecipe = shareForm();
    noRecipe.delete("recipe");
    await expectError(await post(call, noRecipe), 400, "recipe: expected one text field");
    await expectError(await post(call, shareForm({ styles: [] })), 400, "style: expected 1 to 8");
    await expectError(
      await post(call, shareForm({ styles: Array(9).fill(styleJpg) })),
      400,
      "style: expected 1 to 8 file(s), got 9",
    );
    await expectError(await post(call, shareForm({ result: null })), 400, "result: expected 1");
    await expectError(
      await post(call, shareForm({ extra: [["result", resultPng.length.toString()]] })),
      400,
      "result: expected 1 file(s), got 2",
    );
    const textStyle = shareForm({ styles: [] });
    textStyle.append("style", "just text");
    await expectError(await post(call, textStyle), 400, "style: must be a file");
  });
});

Deno.test("rate limit: 429 with Retry-After after N shares from one address; others unaffected", async () => {
  await withApp(async (call) => {
    for (let i = 0; i < 3; i++) {
      assertEquals((await post(call, shareForm(), "198.51.100.1")).status, 201);
    }
    const limited = await post(call, shareForm(), "198.51.100.1");
    await expectError(limited, 429, "too many shares");
    const wait = Number(limited.headers.get("retry-after"));
    assert(Number.isInteger(wait) && wait >= 1 && wait <= 600, `Retry-After ${wait}`);
    assertEquals((await post(call, shareForm(), "198.51.100.2")).status, 201);
    // Refused attempts use up nothing: ten bad posts, then a good one.
    for (let i = 0; i < 10; i++) {
      await expectError(await post(call, shareForm({ result: null }), "198.51.100.3"), 400, "");
    }
    assertEquals((await post(call, shareForm(), "198.51.100.3")).status, 201);
    // Reading is not limited.
    assertEquals(
      (await call("/api/shares/AAAAAAAAAAAAAAAAAAAAAA", {}, "198.51.100.1")).status,
      404,
    );
  }, { sharesPerWindow: 3, shareWindowMs: 600_000 });
});

Deno.test("rate limiter: tokens refill over the window; kept in KV across restarts; IPv6 per /64", async () => {
  let now = 0;
  const kv = await Deno.openKv(":memory:");
  try {
    for (const options of [{}, { kv }]) {
      const limiter = new RateLimiter(2, 60_000, { now: () => now, ...options });
      now = 0;
      assertEquals(await limiter.wait("a"), 0);
      await limiter.acquire("a");
      await limiter.acquire("a");
      assertEquals(await limiter.wait("a"), 30);
      now = 29_000;
      assertEquals(await limiter.wait("a"), 1);
      now = 30_000;
      assertEquals(await limiter.wait("a"), 0);
      assertEquals(await limiter.wait("b"), 0);
    }
    // A new limiter on the same KV (a restarted server) knows the buckets.
    now = 30_000;
    const restarted = new RateLimiter(2, 60_000, { now: () => now, kv });
    await restarted.acquire("a");
    assertEquals(await new RateLimiter(2, 60_000, { now: () => now, kv }).wait("a"), 30);
  } finally {
    kv.close();
  }
  assertEquals(clientKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assertEquals(clientKey("2001:db8:1:2::ffff"), "2001:db8:1:2::/64");
  assertEquals(clientKey("2001:db8::1"), "2001:db8:0:0::/64");
  assertEquals(clientKey("::ffff:192.0.2.1"), "192.0.2.1");
  assertEquals(clientKey("192.0.2.1"), "192.0.2.1");
  const v6 = new RateLimiter(1, 60_000, { now: () => now });
  await v6.acquire("2001:db8:1:2::1");
  assert((await v6.wait("2001:db8:1:2::2")) > 0, "same /64, same bucket");
});

// --- reading shares and images ------------------------------------------------------

Deno.test("unknown or malformed share ids and image hashes → 404 JSON", async () => {
  await withApp(async (call) => {
    for (
      const id of [
        "AAAAAAAAAAAAAAAAAAAAAA",
        "abc",
        "AAAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAA%2F",
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
        "%E0%A4%A",
      ]
    ) {
      await expectError(await call(`/api/shares/${id}`), 404, "");
    }
    for (
      const sha of [
        "0".repeat(64),
        "A".repeat(64),
        "0".repeat(63),
        "..%2F..%2Fetc%2Fpasswd",
        `${"0".repeat(64)}.png`,
      ]
    ) {
      await expectError(await call(`/api/images/${sha}`), 404, "");
    }
  });
});

Deno.test("images: ETag and 304 on If-None-Match (strong, weak, lists, *)", async () => {
  await withApp(async (call) => {
    const { id } = await (await post(call, shareForm())).json();
    const { result } = await (await call(`/api/shares/${id}`)).json();
    for (const tag of [`"${result}"`, `W/"${result}"`, `"x", "${result}"`, "*"]) {
      const res = await call(`/api/images/${result}`, { headers: { "if-none-match": tag } });
      assertEquals(res.status, 304, tag);
      assertEquals(res.headers.get("etag"), `"${result}"`);
      assertEquals(res.body, null);
    }
    const fresh = await call(`/api/images/${result}`, { headers: { "if-none-match": '"other"' } });
    assertEquals(fresh.status, 200);
    await fresh.body?.cancel();
    const unknown = "1".repeat(64);
    await expectError(
      await call(`/api/images/${unknown}`, { headers: { "if-none-match": `"${unknown}"` } }),
      404,
      "no such image",
    );
  });
});

// --- static assets ---------------------------------------------------------------------

Deno.test("static assets: types, cache policy by name, ETag/304; hidden files and links left out", async () => {
  await withApp(async (call) => {
    const expected: [string, string, string][] = [
      ["/assets/app.64ae97ff31.js", "text/javascript; charset=utf-8", "immutable"],
      ["/assets/style.css", "text/css; charset=utf-8", "no-cache"],
      ["/assets/ort-1.30.0/ort-wasm.wasm", "application/wasm", "immutable"],
      ["/assets/ort-1.30.0/ort.bundle.mjs", "text/javascript; charset=utf-8", "immutable"],
    ];
    for (const [path, type, cache] of expected) {
      const res = await call(path);
      assertEquals(res.status, 200, path);
      assertEquals(res.headers.get("content-type"), type, path);
      assertEquals(
        res.headers.get("cache-control"),
        cache === "immutable" ? "public, max-age=31536000, immutable" : "no-cache",
        path,
      );
      const etag = res.headers.get("etag")!;
      assert(/^"[0-9a-f]{32}"$/.test(etag), etag);
      await res.body?.cancel();
      const again = await call(path, { headers: { "if-none-match": etag } });
      assertEquals(again.status, 304, path);
    }
    assertEquals(await (await call("/assets/app.64ae97ff31.js")).text(), jsText);
    for (const path of ["/.env", "/assets/link.txt"]) {
      assertEquals((await call(path)).status, 404, path);
    }
    if (Deno.build.os === "linux") {
      // Hono drops a HEAD answer's body: the file behind it must still be closed. Counted
      // by where each descriptor points, so other test files running alongside do not count.
      const openFiles = () =>
        [...Deno.readDirSync("/proc/self/fd")].filter((fd) => {
          try {
            return Deno.readLinkSync(`/proc/self/fd/${fd.name}`).endsWith("/assets/style.css");
          } catch {
            return false; // closed meanwhile
          }
        }).length;
      const before = openFiles();
      for (let i = 0; i < 20; i++) await call("/assets/style.css", { method: "HEAD" });
      assertEquals(openFiles(), before, "files left open by HEAD requests");
    }
    await expectError(
      await call("/assets/style.css", { method: "POST", body: "x" }),
      404,
      "not found",
    );
  });
  assert(isImmutablePath("/assets/app-5XKQ2B7Z.js"));
  assert(!isImmutablePath("/assets/stylegram-playground.js"));
  assert(!isImmutablePath("/index.html"));
});

Deno.test("path traversal on static routes only ever 404s", async () => {
  const nasty = [
    "/../../etc/passwd",
    "/assets/../../secret.txt",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/..%2fsecret.txt",
    "/assets/..%2f..%2fsecret.txt",
    "/assets%2f..%2f..%2fsecret.txt",
    "/..\\..\\secret.txt",
    "/assets\\..\\..\\secret.txt",
    "/%5c..%5c..%5csecret.txt",
    "/%252e%252e%252fsecret.txt",
    "/assets/%252e%252e/%252e%252e/secret.txt",
    `/${tmp}/secret.txt`,
    `//${tmp.slice(1)}/secret.txt`,
    `/%2F${tmp.slice(1)}/secret.txt`,
    "/assets/ort-1.30.0/../../../secret.txt",
    "/assets/link.txt",
    "/assets/app.64ae97ff31.js%00.txt",
    "/assets/app.64ae97ff31.js/",
    "/assets/",
    "/assets",
    "/%",
    "/%zz",
    "/file:///etc/passwd",
  ];
  await withApp(async (call) => {
    for (const path of nasty) {
      const res = await call(path);
      const body = await res.text();
      assertEquals(res.status, 404, path);
      assert(!body.includes(secret) && !body.includes("root:"), `${path} leaked a file`);
    }
  });
});

// --- headers -------------------------------------------------------------------------------

Deno.test("security and cross-origin isolation headers on every answer; CSP on pages", async () => {
  await withApp(async (call) => {
    const { id } = await (await post(call, shareForm())).json();
    const { result } = await (await call(`/api/shares/${id}`)).json();
    const requests: [string, RequestInit?][] = [
      ["/"],
      [`/s/${id}`],
      ["/s/nope"],
      [`/api/shares/${id}`],
      ["/api/shares/nope"],
      [`/api/images/${result}`],
      [`/api/images/${result}`, { headers: { "if-none-match": `"${result}"` } }],
      ["/api/shares", { method: "GET" }],
      ["/api/shares", { method: "POST", body: "x", headers: { "content-type": "text/plain" } }],
      ["/assets/app.64ae97ff31.js"],
      ["/api/nothing"],
      ["/../etc/passwd"],
      ["/", { method: "DELETE" }],
    ];
    const statuses = new Set<number>();
    for (const [path, init] of requests) {
      const res = await call(path, init);
      await res.body?.cancel();
      statuses.add(res.status);
      const h = res.headers;
      assertEquals(h.get("cross-origin-opener-policy"), "same-origin", path);
      assertEquals(h.get("cross-origin-embedder-policy"), "require-corp", path);
      assertEquals(h.get("cross-origin-resource-policy"), "same-origin", path);
      assertEquals(h.get("x-content-type-options"), "nosniff", path);
      const html = h.get("content-type")?.startsWith("text/html");
      // Rendered pages add a fresh nonce for their run-time styles.
      const policy = h.get("content-security-policy")?.replace(/ 'nonce-[A-Za-z0-9+/=]{24}'/, "");
      assertEquals(policy ?? null, html ? CONTENT_SECURITY_POLICY : null, path);
    }
    assertEquals([...statuses].sort(), [200, 304, 404, 405, 415]);
    const csp = CONTENT_SECURITY_POLICY;
    for (
      const directive of [
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self' blob:",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
      ]
    ) assert(csp.includes(directive), directive);
    assert(!csp.includes("unsafe-inline") && !csp.includes("'unsafe-eval'"), csp);
  });
});

Deno.test("405 with Allow for a known path under another method", async () => {
  await withApp(async (call) => {
    const res = await call("/api/shares");
    await expectError(res, 405, "method GET not allowed");
    assertEquals(res.headers.get("allow"), "POST");
    const put = await call("/api/images/" + "0".repeat(64), { method: "PUT" });
    await expectError(put, 405, "not allowed");
    assertEquals(put.headers.get("allow"), "GET, HEAD");
  });
});

Deno.test("routing: params are decoded, bad encodings and thrown errors become JSON answers", async () => {
  await withApp(async (call, store) => {
    const { id } = await (await post(call, shareForm())).json();
    const encoded = [...id].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join("");
    assertEquals((await (await call(`/api/shares/${encoded}`)).json()).id, id);
    await expectError(await call("/api/shares/%E0%A4%A"), 404, "no such share");
    await expectError(await call("/api/images/"), 404, "not found");
    store.getShare = () => Promise.reject(new Error("secret internals"));
    const originalError = console.error;
    console.error = () => {};
    try {
      const boom = await call(`/api/shares/${id}`);
      const message = await expectError(boom, 500, "internal server error");
      assert(!message.includes("secret"), message);
    } finally {
      console.error = originalError;
    }
  });
});

// --- a real server ----------------------------------------------------------------------------

Deno.test("behind Deno.serve on port 0: create, read, HEAD, and the headers arrive", async () => {
  const store = await openShareStore(`${tmp}/served-${crypto.randomUUID()}.kv`);
  const app = await createApp({ store, assetsDir: dist, renderPage: testPage });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app);
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const created = await fetch(`${base}/api/shares`, { method: "POST", body: shareForm() });
    assertEquals(created.status, 201);
    const { id, url } = await created.json();
    const page = await fetch(`${base}${url}`);
    assertEquals(page.status, 200);
    assertEquals(page.headers.get("cross-origin-embedder-policy"), "require-corp");
    await page.body?.cancel();
    const share = await (await fetch(`${base}/api/shares/${id}`)).json();
    const image = await fetch(`${base}/api/images/${share.content}`);
    assertEquals(new Uint8Array(await image.arrayBuffer()), contentPng);
    const head = await fetch(`${base}/api/images/${share.content}`, { method: "HEAD" });
    assertEquals(head.status, 200);
    assertEquals(head.headers.get("content-length"), String(contentPng.length));
    assertEquals((await head.arrayBuffer()).byteLength, 0);
    const asset = await fetch(`${base}/assets/ort-1.30.0/ort-wasm.wasm`, { method: "HEAD" });
    assertEquals(asset.headers.get("content-type"), "application/wasm");
    await asset.body?.cancel();

    // On the wire a body ends at its Content-Length, whatever follows: the app
    // gets the 100 declared bytes (a malformed form), never the 300 000 sent.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const request = "POST /api/shares HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n" +
      "content-type: multipart/form-data; boundary=x\r\n\r\n";
    const bytes = new Uint8Array([
      ...new TextEncoder().encode(request),
      ...new Uint8Array(300_000),
    ]);
    const sent = conn.write(bytes).catch(() => 0); // the server hangs up on the rest
    let reply = "";
    const buffer = new Uint8Array(16384);
    for (let n; (n = await conn.read(buffer).catch(() => null)) !== null;) {
      reply += new TextDecoder().decode(buffer.subarray(0, n));
    }
    await sent;
    conn.close();
    assert(reply.startsWith("HTTP/1.1 400") && reply.includes("malformed multipart"), reply);
  } finally {
    await server.shutdown();
    store.close();
  }
});

Deno.test("server settings: flags over environment over defaults; bad values refused", () => {
  const none = () => undefined;
  assertEquals(serverSettings([], none), {
    port: 8000,
    host: "127.0.0.1",
    kv: "web/data/stylegram.kv",
    assets: "web/dist",
    origin: undefined,
    trustProxy: undefined,
    maxStorageBytes: 2 * 1024 ** 3,
    shareExpiryDays: 180,
    headerTimeout: 10,
    bodyTimeout: 60,
  });
  const more = serverSettings([
    "--trust-proxy",
    "X-Forwarded-For",
    "--max-storage",
    "512MB",
    "--share-expiry-days",
    "30",
  ], none);
  assertEquals([more.trustProxy, more.maxStorageBytes, more.shareExpiryDays], [
    "x-forwarded-for",
    512_000_000,
    30,
  ]);
  assertEquals(serverSettings(["--max-storage", "1.5GiB"], none).maxStorageBytes, 1610612736);
  const env = (name: string) =>
    ({ PORT: "9000", STYLEGRAM_KV: "https://kv.example/db", STYLEGRAM_ORIGIN: "https://a.b" })[
      name
    ];
  const s = serverSettings(["--port", "0", "--assets", "/srv/dist"], env);
  assertEquals([s.port, s.kv, s.assets, s.origin], [
    0,
    "https://kv.example/db",
    "/srv/dist",
    "https://a.b",
  ]);
  for (
    const args of [
      ["--port", "http"],
      ["--port", "70000"],
      ["--origin", "https://a.b/x"],
      ["--max-storage", "lots"],
      ["--share-expiry-days", "0"],
      ["--header-timeout", "-1"],
      ["--trust-proxy", "x forwarded"],
    ]
  ) {
    let threw = false;
    try {
      serverSettings(args, none);
    } catch {
      threw = true;
    }
    assert(threw, args.join(" "));
  }
});
