/**
 * The plugin sandbox's page: an iframe with an opaque origin (sandboxed
 * without `allow-same-origin`) whose policy allows no network, storage or
 * other frames. It runs plugin code in a worker it makes from the code in
 * its own page, passes the playground's messages to it over ports, and stops
 * it when an answer takes longer than the time limit (an endless loop),
 * starting a fresh one with the same modules.
 *
 * @module
 */

/// <reference lib="dom" />

import type { FromSandbox, ToSandbox } from "./protocol.ts";

/** Longest a module may take to load or a plugin to answer, ms. */
const TIME_LIMIT_MS = 5000;

const encoded = document.getElementById("worker")!.textContent!.trim();
const bytes = Uint8Array.from(atob(encoded), (ch) => ch.charCodeAt(0));
const workerUrl = URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));

interface Pending {
  port: MessagePort;
  id: number;
  timer: ReturnType<typeof setTimeout>;
}

let worker: Worker;
/** When the worker last answered a ping: busy in the background for long, it is restarted. */
let lastPong = Date.now();
/** How long the worker may not answer pings, ms. */
const BUSY_LIMIT_MS = TIME_LIMIT_MS + 1000;
let nextId = 1;
const pending = new Map<number, Pending>();

function spawn(): void {
  // A classic worker: an opaque-origin page may not load module workers from its blobs.
  worker = new Worker(workerUrl);
  lastPong = Date.now();
  worker.onmessage = (e: MessageEvent<FromSandbox | { type: "pong" }>) => {
    lastPong = Date.now();
    if (e.data.type === "pong") return;
    const p = pending.get(e.data.id);
    if (!p) return;
    pending.delete(e.data.id);
    clearTimeout(p.timer);
    p.port.postMessage({ ...e.data, id: p.id });
  };
  worker.onerror = (e) => {
    e.preventDefault();
    restart(`the plugin code stopped the sandbox's worker (${e.message || "no message"})`);
  };
}

/**
 * Stops the worker, fails every open question with `why`, and starts a
 * fresh, empty one: modules that hung or kept it busy are not loaded again
 * (the page loads them again when asked to).
 */
function restart(why: string): void {
  worker.terminate();
  for (const [, p] of pending) {
    clearTimeout(p.timer);
    p.port.postMessage(
      { type: "answer", id: p.id, answer: { error: why } } satisfies FromSandbox,
    );
  }
  pending.clear();
  spawn();
}

function serve(port: MessagePort): void {
  port.onmessage = (e: MessageEvent<ToSandbox>) => {
    const m = e.data;
    if (m?.type !== "load" && m?.type !== "ask") return;
    const id = nextId++;
    const timer = setTimeout(
      () =>
        restart(
          `the plugin code ran for over ${
            TIME_LIMIT_MS / 1000
          } s and was stopped (an endless loop?)`,
        ),
      TIME_LIMIT_MS,
    );
    pending.set(id, { port, id: m.id, timer });
    worker.postMessage({ ...m, id });
  };
}

spawn();
// A worker busy in the background (a timer that never returns) answers no ping: restart it.
setInterval(() => {
  if (Date.now() - lastPong > BUSY_LIMIT_MS) {
    restart(
      `the plugin code kept the sandbox busy for over ${BUSY_LIMIT_MS / 1000} s and was stopped`,
    );
    return;
  }
  worker.postMessage({ type: "ping" });
}, 1000);
addEventListener("message", (e: MessageEvent) => {
  if (e.source === parent && e.data?.type === "connect" && e.ports[0]) serve(e.ports[0]);
});
parent.postMessage({ type: "ready" }, "*");
