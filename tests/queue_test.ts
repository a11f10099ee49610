/**
 * The job queue with a real `redis-server` and real worker processes: three
 * workers make a 12-frame clip in chunks, one of them killed in the middle of
 * a job, and the frames equal the single-process run of the same chunks; a
 * Redis restart in the middle of a batch does not stop it; a batch of images
 * equals its run in one process; a job that fails for good fails the
 * producer in one line; an unreachable Redis is said in one line.
 */

import { startRedis, type TestRedis } from "../scripts/redis_server.ts";
import { makeClip } from "../scripts/test_clip.ts";
import { assert, assertEquals } from "./support/assert.ts";

const root = new URL("..", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "stylegram-queue-" });
const clip = `${dir}/clip.mp4`;
const style = `${root}examples/van_gogh.jpg`;
await makeClip(clip);

const fast = [
  "--network",
  "tiny",
  "--size",
  "48",
  "--iterations",
  "25",
  "--scales",
  "1",
  "--backend",
  "wasm",
  "--threads",
  "1",
];
const chunking = ["--chunk-frames", "4", "--chunk-overlap", "2"];

/** A CLI process whose output is read as it comes. */
interface Proc {
  child: Deno.ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<number>;
}

function spawn(args: string[]): Proc {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}cli.ts`, ...args],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let out = "";
  let err = "";
  const decoder = new TextDecoder();
  const read = async (stream: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  };
  const reading = Promise.all([
    read(child.stdout, (t) => out += t),
    read(child.stderr, (t) => err += t),
  ]);
  const done = (async () => {
    const status = await child.status;
    await reading;
    return status.code;
  })();
  return { child, stdout: () => out, stderr: () => err, done };
}

async function until(what: string, test: () => boolean, seconds = 120): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const worker = (redis: TestRedis) =>
  spawn(["worker", "--redis", redis.url, "--threads", "1", "--lock-seconds", "2"]);

async function stopWorkers(workers: Proc[]): Promise<void> {
  for (const w of workers) {
    try {
      w.child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await w.done;
  }
}

const pngs = (folder: string) =>
  [...Deno.readDirSync(folder)].map((e) => e.name).filter((n) => n.endsWith(".png")).sort();

/** The single-process run of the same chunks: the reference frames. */
const reference = (async () => {
  const out = `${dir}/reference`;
  const r = spawn(["video", clip, style, "-o", out, ...fast, ...chunking, "--quiet"]);
  assertEquals(await r.done, 0, r.stderr());
  return out;
})();

async function assertSameFrames(folder: string): Promise<void> {
  const want = await reference;
  assertEquals(pngs(folder), pngs(want));
  assertEquals(pngs(folder).length, 12);
  for (const name of pngs(want)) {
    assertEquals(
      await Deno.readFile(`${folder}/${name}`),
      await Deno.readFile(`${want}/${name}`),
      name,
    );
  }
}

Deno.test("three workers, one killed in the middle of a job: every frame once, as in one process", async () => {
  const redis = await startRedis();
  const workers = [worker(redis), worker(redis), worker(redis)];
  try {
    const out = `${dir}/killed`;
    const producer = spawn([
      "video",
      clip,
      style,
      "-o",
      out,
      ...fast,
      ...chunking,
      "--json",
      "--redis",
      redis.url,
    ]);
    // Kill a worker 0.7 s into a job it still holds (its frames take longer).
    const holding = (w: Proc) => {
      const started = [...w.stderr().matchAll(/job (\S+): frames/g)].map((m) => m[1]).pop();
      return started && !w.stderr().includes(`job ${started}: done`) ? started : undefined;
    };
    let victim: Proc | undefined;
    let since = 0;
    await until("a worker 0.7 s into a job", () => {
      const busy = workers.find((w) => holding(w));
      if (!busy || busy !== victim) since = Date.now();
      victim = busy;
      return victim !== undefined && Date.now() - since >= 700;
    });
    const held = holding(victim!)!;
    victim!.child.kill("SIGKILL");
    await victim!.done;
    assertEquals(await producer.done, 0, producer.stderr());
    // The job it held was started again by another worker.
    const retried = workers.filter((w) => w !== victim).some((w) =>
      w.stderr().includes(`job ${held}: frames`)
    );
    assert(
      retried,
      `another worker took job ${held} over:\n${workers.map((w) => w.stderr()).join("\n")}`,
    );
    await assertSameFrames(out);
  } finally {
    await stopWorkers(workers);
    await redis.stop();
  }
});

Deno.test("a Redis restart in the middle of a batch: it completes, frames as in one process", async () => {
  const redis = await startRedis();
  const workers = [worker(redis), worker(redis)];
  try {
    const out = `${dir}/restarted`;
    const producer = spawn([
      "video",
      clip,
      style,
      "-o",
      out,
      ...fast,
      ...chunking,
      "--json",
      "--redis",
      redis.url,
    ]);
    // Two workers, three chunks: the last chunk is still to come.
    await until("a chunk done", () => /"completed":[12]\b/.test(producer.stdout()));
    await redis.restart();
    assertEquals(await producer.done, 0, producer.stderr());
    await assertSameFrames(out);
  } finally {
    await stopWorkers(workers);
    await redis.stop();
  }
});

Deno.test("a batch of images on workers equals the batch in one process", async () => {
  const redis = await startRedis();
  const workers = [worker(redis), worker(redis)];
  try {
    const images = [
      `${root}examples/cat.jpg`,
      `${root}examples/astronaut.jpg`,
      `${root}examples/great_wave.jpg`,
    ];
    const here = spawn([
      "batch",
      ...images,
      "--style",
      style,
      "-o",
      `${dir}/batch_here`,
      ...fast,
      "-q",
    ]);
    assertEquals(await here.done, 0, here.stderr());
    const queued = spawn([
      "batch",
      ...images,
      "--style",
      style,
      "-o",
      `${dir}/batch_queued`,
      ...fast,
      "--json",
      "--redis",
      redis.url,
    ]);
    assertEquals(await queued.done, 0, queued.stderr());
    assertEquals(pngs(`${dir}/batch_queued`), ["astronaut.png", "cat.png", "great_wave.png"]);
    for (const name of pngs(`${dir}/batch_here`)) {
      assertEquals(
        await Deno.readFile(`${dir}/batch_queued/${name}`),
        await Deno.readFile(`${dir}/batch_here/${name}`),
        name,
      );
    }
  } finally {
    await stopWorkers(workers);
    await redis.stop();
  }
});

Deno.test("a job that fails for good fails the producer, in one line, with nothing written", async () => {
  const redis = await startRedis();
  const workers = [worker(redis)];
  try {
    // A recipe plugin whose cost throws on the worker (the producer never runs it).
    const recipe = {
      sources: [{
        name: "boom.ts",
        code: `import { definePlugin } from "stylegram";
export const boom = definePlugin({
  name: "boom",
  description: "fails",
  options: {},
  layers: () => ["image"],
  cost: () => { throw new Error("boom at cost time"); },
});
`,
      }],
      plugins: [{ plugin: "boom", weight: 1 }],
    };
    await Deno.writeTextFile(`${dir}/boom.json`, JSON.stringify(recipe));
    const r = spawn([
      "batch",
      `${root}examples/cat.jpg`,
      "--recipe",
      `${dir}/boom.json`,
      "-o",
      `${dir}/boom_out`,
      ...fast,
      "--redis",
      redis.url,
      "-q",
    ]);
    assertEquals(await r.done, 1, r.stderr());
    const lines = r.stderr().split("\n").filter((l) => l.startsWith("stylegram:"));
    assertEquals(lines.length, 1, r.stderr());
    assert(/failed 3 times: .*boom at cost time/.test(lines[0]), lines[0]);
    assertEquals(pngs(`${dir}/boom_out`), []);
  } finally {
    await stopWorkers(workers);
    await redis.stop();
  }
});

Deno.test("an unreachable Redis is one line, for the producer and the worker", async () => {
  for (
    const args of [
      ["video", clip, style, "-o", `${dir}/none.mp4`, ...fast, "--redis", "redis://127.0.0.1:1"],
      ["worker", "--redis", "redis://127.0.0.1:1"],
      ["video", clip, style, "-o", `${dir}/none.mp4`, ...fast, "--redis", "lots"],
    ]
  ) {
    const r = spawn(args);
    assertEquals(await r.done, 1, r.stderr());
    const lines = r.stderr().split("\n").filter((l) => l.startsWith("stylegram:"));
    assertEquals(lines.length, 1, r.stderr());
    assert(/cannot reach Redis at|not a URL/.test(lines[0]), lines[0]);
    assert(!(await Deno.stat(`${dir}/none.mp4.frames`).then(() => true, () => false)));
  }
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
