/**
 * The connection guard in front of the server, over real TCP: ordinary,
 * keep-alive, pipelined and chunked requests pass; the app sees the client's
 * address and never one the client made up; slow headers, slow bodies,
 * silent connections and huge headers are cut off.
 */

import { PEER_HEADER, serveGuarded } from "../web/server/connection_guard.ts";
import { assert, assertEquals } from "./support/assert.ts";

const TIMEOUTS = { headerTimeoutMs: 300, bodyTimeoutMs: 300, idleTimeoutMs: 400 };

interface Seen {
  peer: string;
  body: string;
  spoofed: string | null;
  name: string | null;
}

async function withGuard(
  fn: (
    port: number,
    seen: Seen[],
  ) => Promise<void>,
) {
  const seen: Seen[] = [];
  const server = await serveGuarded(async (req, info) => {
    seen.push({
      peer: info.remoteAddr.hostname,
      body: await req.text(),
      spoofed: [...req.headers.keys()].find((k) => k.startsWith(PEER_HEADER)) ?? null,
      name: req.headers.get("x-name"),
    });
    // A slow answer: longer than the idle time, which must wait for it.
    if (new URL(req.url).pathname === "/slow") await new Promise((r) => setTimeout(r, 900));
    return new Response(`ok ${seen.length}`);
  }, { hostname: "127.0.0.1", port: 0, ...TIMEOUTS });
  try {
    await fn(server.addr.port, seen);
  } finally {
    await server.shutdown();
  }
}

/** Sends `parts` (with pauses in ms between them) and reads until the server closes. */
async function exchange(
  port: number,
  parts: (string | number)[],
): Promise<{ reply: string; ms: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const t0 = performance.now();
  let ms = 0;
  const reading = (async () => {
    let reply = "";
    const buffer = new Uint8Array(4096);
    for (let n; (n = await conn.read(buffer).catch(() => null)) !== null;) {
      reply += new TextDecoder().decode(buffer.subarray(0, n));
    }
    // When the server closed: the measure of its deadlines.
    ms = performance.now() - t0;
    return reply;
  })();
  for (const part of parts) {
    if (typeof part === "number") await new Promise((r) => setTimeout(r, part));
    else await conn.write(new TextEncoder().encode(part)).catch(() => 0);
  }
  const reply = await reading;
  try {
    conn.close();
  } catch { /* closed by the server */ }
  return { reply, ms };
}

Deno.test("requests pass: keep-alive, pipelined, with a length or chunked; the app sees the real peer", async () => {
  await withGuard(async (port, seen) => {
    const { reply } = await exchange(port, [
      `GET / HTTP/1.1\r\nhost: x\r\n${PEER_HEADER}: 6.6.6.6\r\n\r\n`,
      "POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello",
      "POST /b HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n",
      50,
      "2;ext=1\r\nde\r\n0\r\n\r\nGET /c HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    ]);
    assertEquals(reply.match(/HTTP\/1\.1 200/g)?.length, 4, reply);
    assert(reply.includes("ok 4"), reply);
    assertEquals(seen.map((s) => s.body), ["", "hello", "abcde", ""]);
    assertEquals(seen.map((s) => s.peer), ["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"]);
    assertEquals(
      seen.map((s) => s.spoofed),
      [null, null, null, null],
      "the header never reaches the app",
    );
    // fetch over the guard.
    const res = await fetch(`http://127.0.0.1:${port}/x`, { method: "POST", body: "via fetch" });
    assertEquals(await res.text(), "ok 5");
    assertEquals(seen[4].body, "via fetch");
  });
});

Deno.test("slow headers, a slow body and a silent connection are cut off", async () => {
  await withGuard(async (port, seen) => {
    // Headers dribbled in: 408 once the header time is up, though bytes keep coming.
    const slowHeaders = await exchange(port, [
      "GET / HTTP/1.1\r\n",
      ...Array.from({ length: 8 }, (_, i) => [100, `x-${i}: y\r\n`]).flat(),
    ]);
    assert(slowHeaders.reply.startsWith("HTTP/1.1 408"), slowHeaders.reply);
    assert(slowHeaders.reply.includes("headers came too slowly"), slowHeaders.reply);
    assert(slowHeaders.ms < 1500, `${slowHeaders.ms} ms`);
    // A body that never completes.
    const slowBody = await exchange(port, [
      "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789",
      200,
      "0123456789",
      2000,
    ]);
    assert(slowBody.reply.includes("HTTP/1.1 408"), slowBody.reply);
    assert(slowBody.reply.includes("body came too slowly"), slowBody.reply);
    // Connected, then nothing: closed after the idle time, without an answer.
    const silent = await exchange(port, [2000]);
    assertEquals(silent.reply, "");
    assert(silent.ms < 1500, `${silent.ms} ms`);
    assertEquals(seen.length, 0, "no request reached the app");
  });
});

Deno.test("huge headers get 431; conflicting lengths get 400", async () => {
  await withGuard(async (port) => {
    const huge = await exchange(port, [`GET / HTTP/1.1\r\nx: ${"a".repeat(70 * 1024)}`]);
    assert(huge.reply.startsWith("HTTP/1.1 431"), huge.reply.slice(0, 100));
    const smuggle = await exchange(port, [
      "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 50\r\n\r\nhello",
    ]);
    assert(smuggle.reply.startsWith("HTTP/1.1 400"), smuggle.reply);
  });
});

Deno.test("header blocks parsers could read differently are refused; the peer cannot be forged", async () => {
  await withGuard(async (port, seen) => {
    const refused: [string, RegExp][] = [
      [`GET /a HTTP/1.1\r\nhost: x\n${PEER_HEADER}: 9.9.9.9\r\n\r\n`, /^HTTP\/1\.1 400/],
      ["GET /a HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n folded\r\n\r\n", /^HTTP\/1\.1 400/],
      ["GET /a HTTP/1.1\r\nhost : x\r\n\r\n", /^HTTP\/1\.1 400/],
      ["GET /a HTTP/1.1\r\nhost: x\rx-b: 2\r\n\r\n", /^HTTP\/1\.1 400/],
      ["GET  /a HTTP/1.1\r\nhost: x\r\n\r\n", /^HTTP\/1\.1 400/],
      ["CONNECT example.org:443 HTTP/1.1\r\nhost: example.org\r\n\r\n", /^HTTP\/1\.1 405/],
      ["TRACE / HTTP/1.1\r\nhost: x\r\n\r\n", /^HTTP\/1\.1 405/],
    ];
    for (const [request, expected] of refused) {
      const { reply } = await exchange(port, [request]);
      assert(expected.test(reply), `${JSON.stringify(request)} → ${reply.slice(0, 60)}`);
    }
    assertEquals(seen.length, 0, "none reached the app");
    // Empty lines before a request are fine; header bytes pass unchanged.
    const ok = await exchange(port, [
      "\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\nx-name: \u00c3\u00a9\r\nconnection: close\r\n\r\n",
    ]);
    assert(ok.reply.startsWith("HTTP/1.1 200"), ok.reply);
    // The test writes UTF-8 (c3 83 c2 a9): the app sees those bytes, one character each.
    assertEquals(seen[0].name, "\u00c3\u0083\u00c2\u00a9");
  });
});

Deno.test("a slow answer is waited for: the idle time counts only after it", async () => {
  await withGuard(async (port) => {
    const { reply } = await exchange(port, ["GET /slow HTTP/1.1\r\nhost: x\r\n\r\n", 1500]);
    assert(reply.startsWith("HTTP/1.1 200") && reply.includes("ok 1"), reply);
  });
});
