/**
 * The VGG download path end to end against a local HTTP server serving a
 * safetensors file of random VGG-19 weights (plus a classifier tensor no
 * layer needs): Range requests for just the needed tensors, progress,
 * resume after a dropped connection or an abort, the cache and its integrity
 * check, servers without Range support, and the errors of bad responses.
 */

import { createSession, input, toOnnx } from "../mod.ts";
import type { WeightSet } from "../core/network/description.ts";
import type { DownloadProgress } from "../core/network/download.ts";
import { FeatureNetwork, WeightError } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { parseSafetensorsHeader } from "../core/network/safetensors.ts";
import { vggDescription } from "../core/network/vgg.ts";
import { isVggCached, loadVggWeights } from "../core/network/vgg_weights.ts";
import { CacheError, DownloadError, WeightFileError } from "../core/network/weight_errors.ts";
import { MemoryStore } from "../core/network/weight_store.ts";
import { uniform } from "../core/random.ts";
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { encodeSafetensors, rawF32, rawWeights } from "./support/safetensors_writer.ts";
import { startWeightServer, type WeightServer } from "./support/weight_server.ts";

const SOURCE = randomWeights(vggDescription("vgg19"), 7);
const FILE = encodeSafetensors(
  new Map([
    ...rawWeights(SOURCE),
    ["classifier.0.weight", rawF32({ shape: [64, 512], data: uniform(64 * 512, 3) })],
  ]),
);
const HEADER = parseSafetensorsHeader(FILE);
/** relu2_1 needs conv1_1, conv1_2 and conv2_1: features.0, .2 and .5, apart in the file's name order. */
const LAYERS = ["relu2_1"];
const NEEDED = ["0", "2", "5"].flatMap((i) => [`features.${i}.weight`, `features.${i}.bias`]);
const NEEDED_BYTES = NEEDED.reduce(
  (n, k) => n + HEADER.tensors.get(k)!.end - HEADER.tensors.get(k)!.start,
  0,
);

/** Runs `body` with a server for `file`, closing it afterwards. */
async function withServer(
  file: Uint8Array,
  options: Parameters<typeof startWeightServer>[1],
  body: (server: WeightServer) => Promise<void>,
): Promise<void> {
  const server = startWeightServer(file, options);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

function assertSource(weights: WeightSet, names: readonly string[] = NEEDED): void {
  assertEquals([...weights.keys()].sort(), [...names].sort());
  for (const name of names) {
    const got = weights.get(name)!;
    assertEquals(got.shape, SOURCE.get(name)!.shape, name);
    assert(got.data.every((v, i) => Object.is(v, SOURCE.get(name)!.data[i])), `${name} differs`);
  }
}

function assertOneLine(e: Error): void {
  assert(!e.message.includes("\n"), `not one line: ${e.message}`);
}

Deno.test("download: Range requests fetch only the needed tensors, with monotonic progress", async () => {
  await withServer(FILE, {}, async (server) => {
    const store = new MemoryStore();
    const events: DownloadProgress[] = [];
    const weights = await loadVggWeights("vgg19", {
      store,
      layers: LAYERS,
      url: server.url,
      onProgress: (p) => events.push({ ...p }),
    });
    assertSource(weights);
    // Every request was a Range request answered 206: two for the header, then the tensors.
    assert(
      server.requests.every((r) => r.range && r.status === 206),
      JSON.stringify(server.requests),
    );
    assertEquals(server.requests.slice(0, 2).map((r) => r.range), [
      "bytes=0-7",
      `bytes=8-${HEADER.dataStart - 1}`,
    ]);
    // features.0, .2 and .5 lie apart (name order: 0, 10, …, 19, 2, 21, …, 5): three spans.
    assertEquals(server.requests.length, 5);
    assert(
      server.bytesSent < NEEDED_BYTES + HEADER.dataStart + 1,
      `${server.bytesSent} bytes sent`,
    );
    assert(server.bytesSent * 100 < FILE.byteLength, "far fewer bytes than the file");
    // Progress: total is the needed bytes, done only grows and ends there, tensors are named.
    assert(events.length > 2);
    assert(events.every((e) => e.total === NEEDED_BYTES));
    assert(events.every((e, i) => i === 0 || e.done >= events[i - 1].done), "monotonic");
    assertEquals(events.at(-1)!.done, NEEDED_BYTES);
    assertEquals(new Set(events.map((e) => e.tensor).filter(Boolean)), new Set(NEEDED));
    // Stored as raw float32 under vgg19/<name>; the classifier was not fetched.
    const stored = await store.get("vgg19/features.0.weight");
    assertEquals(stored!.byteLength, 64 * 3 * 9 * 4);
    assert(!await store.has("vgg19/classifier.0.weight"));
  });
});

Deno.test("download: the second load is a cache hit that makes no request", async () => {
  await withServer(FILE, {}, async (server) => {
    const store = new MemoryStore();
    assert(!await isVggCached("vgg19", store, { layers: LAYERS, url: server.url }));
    await loadVggWeights("vgg19", { store, layers: LAYERS, url: server.url });
    assert(await isVggCached("vgg19", store, { layers: LAYERS, url: server.url }));
    assert(!await isVggCached("vgg19", store, { layers: ["relu3_1"], url: server.url }));
    server.reset();
    let progressCalls = 0;
    const again = await loadVggWeights("vgg19", {
      store,
      layers: LAYERS,
      url: server.url,
      fetch: () => Promise.reject(new Error("the network must not be used")),
      onProgress: () => progressCalls++,
    });
    assertSource(again);
    assertEquals(server.requests.length, 0);
    assertEquals(progressCalls, 0);
    // A deeper layer fetches only the tensors it adds.
    await loadVggWeights("vgg19", { store, layers: ["relu2_2"], url: server.url });
    assertEquals(server.requests.length, 3); // header (2) + features.7
  });
});

Deno.test("download: a connection dropped mid-tensor resumes from the byte it stopped at", async () => {
  const tensor = HEADER.tensors.get("features.5.weight")!;
  const dropAt = tensor.start + 100_003; // not on a chunk boundary
  await withServer(FILE, { dropAt }, async (server) => {
    const store = new MemoryStore();
    const events: DownloadProgress[] = [];
    const weights = await loadVggWeights("vgg19", {
      store,
      layers: LAYERS,
      url: server.url,
      onProgress: (p) => events.push({ ...p }),
    });
    assertSource(weights);
    const ranges = server.requests.map((r) => r.range!);
    assert(ranges.some((r) => r.startsWith(`bytes=${dropAt}-`)), ranges.join(" "));
    assert(events.every((e, i) => i === 0 || e.done >= events[i - 1].done), "monotonic");
    assertEquals(events.at(-1)!.done, NEEDED_BYTES);
    assertEquals(await store.getPartial("vgg19/features.5.weight"), undefined);
  });
});

Deno.test("download: an aborted download keeps its partial value and the next call resumes", async () => {
  await withServer(FILE, {}, async (server) => {
    const store = new MemoryStore();
    const controller = new AbortController();
    const tensor = HEADER.tensors.get("features.5.weight")!;
    const size = tensor.end - tensor.start;
    await assertRejects(
      () =>
        loadVggWeights("vgg19", {
          store,
          layers: LAYERS,
          url: server.url,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.tensor === "features.5.weight" && p.done > NEEDED_BYTES - size / 2) {
              controller.abort();
            }
          },
        }),
      "abort",
    );
    const partial = await store.getPartial("vgg19/features.5.weight");
    assert(
      partial && partial.byteLength > 0 && partial.byteLength < size,
      `${partial?.byteLength}`,
    );
    server.reset();
    const events: DownloadProgress[] = [];
    const weights = await loadVggWeights("vgg19", {
      store,
      layers: LAYERS,
      url: server.url,
      onProgress: (p) => events.push({ ...p }),
    });
    assertSource(weights);
    const resumedAt = tensor.start + partial.byteLength;
    assertEquals(server.requests.at(-1)!.range, `bytes=${resumedAt}-${tensor.end - 1}`);
    assert(events[0].done > 0, "the first event counts the resumed bytes");
    assertEquals(events.at(-1)!.done, events[0].total);
  });
});

Deno.test("download: a partial value of an older version of the file (other ETag) is not resumed", async () => {
  const tensor = HEADER.tensors.get("features.5.weight")!;
  await withServer(FILE, { etag: '"v1"' }, async (server) => {
    const store = new MemoryStore();
    const controller = new AbortController();
    await assertRejects(
      () =>
        loadVggWeights("vgg19", {
          store,
          layers: LAYERS,
          url: server.url,
          signal: controller.signal,
          onProgress: (p) => p.tensor === "features.5.weight" && controller.abort(),
        }),
      "abort",
    );
    assert((await store.getPartial("vgg19/features.5.weight"))!.byteLength > 0);
    // Same layout, new values: version 2 of the file.
    const v2 = FILE.slice();
    for (let i = tensor.start; i < tensor.end; i += 4) v2[i + 3] ^= 0x80; // flip signs
    server.replace(v2, '"v2"');
    server.reset();
    const weights = await loadVggWeights("vgg19", { store, layers: LAYERS, url: server.url });
    assertEquals(server.requests.at(-1)!.range, `bytes=${tensor.start}-${tensor.end - 1}`);
    const expected = SOURCE.get("features.5.weight")!.data.map((v) => -v);
    assert(weights.get("features.5.weight")!.data.every((v, i) => Object.is(v, expected[i])));
  });
});

Deno.test("download: a file that changes on the server mid-download is refused (injected fetch)", async () => {
  await withServer(FILE, { etag: '"v1"' }, async (server) => {
    let calls = 0;
    // The third request (the first tensor range) comes back with a new ETag.
    const fetchWithNewVersion = async (url: string, init: RequestInit) => {
      const response = await fetch(url, init);
      if (++calls < 3) return response;
      const headers = new Headers(response.headers);
      headers.set("etag", '"v2"');
      return new Response(response.body, { status: response.status, headers });
    };
    const e = await assertRejects(
      () =>
        loadVggWeights("vgg19", {
          store: new MemoryStore(),
          layers: LAYERS,
          url: server.url,
          fetch: fetchWithNewVersion,
        }),
      `${server.url}: the file changed on the server during the download (ETag "v1" → "v2")`,
    );
    assert(e instanceof DownloadError);
  });
});

Deno.test("download: a corrupt cached tensor is reported with a clear message, not used", async () => {
  await withServer(FILE, {}, async (server) => {
    const store = new MemoryStore();
    await loadVggWeights("vgg19", { store, layers: LAYERS, url: server.url });
    const bytes = (await store.get("vgg19/features.2.weight"))!;
    bytes[1234] ^= 0x10;
    await store.set("vgg19/features.2.weight", bytes);
    server.reset();
    const e = await assertRejects(
      () => loadVggWeights("vgg19", { store, layers: LAYERS, url: server.url }),
      `memory:vgg19/features.2.weight: cached tensor "features.2.weight" of ${server.url} is ` +
        "corrupt (its SHA-256 differs from the one recorded at download)",
    );
    assert(e instanceof CacheError);
    assert(e.message.includes("delete memory:vgg19 to download it again"), e.message);
    assertOneLine(e);
    assertEquals(server.requests.length, 0);
    // A truncated value is caught too.
    await store.set("vgg19/features.2.weight", bytes.subarray(0, 100));
    await assertRejects(
      () => loadVggWeights("vgg19", { store, layers: LAYERS, url: server.url }),
      "100 bytes instead of",
    );
    // Deleting the entry fixes it.
    await store.delete("vgg19/features.2.weight");
    assertSource(await loadVggWeights("vgg19", { store, layers: LAYERS, url: server.url }));
  });
});

Deno.test("download: a server without Range support is streamed once, keeping only the needed slices", async () => {
  await withServer(FILE, { ranges: false }, async (server) => {
    const store = new MemoryStore();
    const events: DownloadProgress[] = [];
    const weights = await loadVggWeights("vgg19", {
      store,
      layers: LAYERS,
      url: server.url,
      onProgress: (p) => events.push({ ...p }),
    });
    assertSource(weights);
    assertEquals(server.requests.length, 1);
    assertEquals(server.requests[0].status, 200);
    assertEquals(events.at(-1)!.done, NEEDED_BYTES);
    assert(!await store.has("vgg19/classifier.0.weight"));
  });
  // A drop on such a server restarts the stream and skips to where it stopped.
  const dropAt = HEADER.tensors.get("features.2.weight")!.start + 5000;
  await withServer(FILE, { ranges: false, dropAt }, async (server) => {
    assertSource(
      await loadVggWeights("vgg19", {
        store: new MemoryStore(),
        layers: LAYERS,
        url: server.url,
      }),
    );
    assertEquals(server.requests.length, 2);
  });
});

Deno.test("download: bad responses give one-line errors naming the URL", async () => {
  const load = (url: string, retries?: number) =>
    loadVggWeights("vgg19", { store: new MemoryStore(), layers: LAYERS, url, retries });
  await withServer(FILE, {}, async (server) => {
    const e = await assertRejects(() => load(`${server.origin}/missing`), "/missing: HTTP 404");
    assert(e instanceof DownloadError);
    assertOneLine(e);
    assertEquals(server.requests.length, 1); // a 404 is not retried
  });
  await withServer(FILE, { status: 503 }, async (server) => {
    const e = await assertRejects(() => load(server.url, 1), "HTTP 503");
    assert(e.message.includes("gave up after 2 tries"), e.message);
    assertEquals(server.requests.length, 2);
  });
  const html = new TextEncoder().encode("<!DOCTYPE html><html><body>Sign in</body></html>");
  await withServer(html, {}, async (server) => {
    const e = await assertRejects(() => load(server.url), `${server.url}: not a safetensors file`);
    assert(e instanceof WeightFileError);
    assertOneLine(e);
  });
  const half = FILE.subarray(0, FILE.byteLength / 2);
  await withServer(half, {}, async (server) => {
    const e = await assertRejects(() => load(server.url), `${server.url}: truncated: tensor "`);
    assert(e.message.includes(`but the file has ${half.byteLength}`), e.message);
    assertOneLine(e);
  });
  await withServer(FILE.subarray(0, 100), {}, async (server) => {
    await assertRejects(
      () => load(server.url),
      `truncated: header says 8+${HEADER.dataStart - 8} bytes but the file has 100`,
    );
  });
});

Deno.test("download: wrong shapes and dtypes are refused before any tensor byte is fetched", async () => {
  const wrong = rawWeights(SOURCE);
  wrong.set(
    "features.2.weight",
    rawF32({ shape: [64, 64, 9], data: new Float32Array(64 * 64 * 9) }),
  );
  await withServer(encodeSafetensors(wrong), {}, async (server) => {
    const e = await assertRejects(
      () => loadVggWeights("vgg19", { store: new MemoryStore(), layers: LAYERS, url: server.url }),
      `${server.url}: tensor "features.2.weight" has shape [64,64,9], expected [64,64,3,3]`,
    );
    assert(e instanceof WeightError);
    assertEquals(server.requests.length, 2); // the header only
  });
  const ints = rawWeights(SOURCE);
  ints.set("features.0.bias", { dtype: "I32", shape: [64], bytes: new Uint8Array(256) });
  await withServer(encodeSafetensors(ints), {}, async (server) => {
    await assertRejects(
      () => loadVggWeights("vgg19", { store: new MemoryStore(), layers: LAYERS, url: server.url }),
      `${server.url}: tensor "features.0.bias" has dtype I32, expected F32/F16/BF16/F64`,
    );
  });
});

Deno.test("download: the loaded weights build a FeatureNetwork that evaluates on wasm", async () => {
  await withServer(FILE, {}, async (server) => {
    const weights = await loadVggWeights("vgg19", {
      store: new MemoryStore(),
      layers: ["relu1_1"],
      url: server.url,
    });
    const net = new FeatureNetwork(vggDescription("vgg19"), weights);
    const image = input("image", [1, 3, 32, 32]);
    const { relu1_1 } = net.features(image, ["relu1_1"]);
    const session = await createSession(toOnnx({ relu1_1 }), { backend: "wasm" });
    try {
      const out = await session.run({ image: uniform(3 * 32 * 32, 5, { lo: 0, hi: 1 }) });
      assertEquals(out.relu1_1.length, 64 * 32 * 32);
      assert(out.relu1_1.every(Number.isFinite), "finite");
      assert(out.relu1_1.some((v) => v > 0), "not all zero");
    } finally {
      await session.release();
    }
  });
});
