/**
 * The video driver on a panned sequence with the tiny network: the temporal
 * term lowers flicker against frames stylised on their own, a resumed run
 * makes the same frames as an uninterrupted one, and a chunk with warm-up
 * frames writes only its own frames, and chunk seams cross-fade over the
 * warm-up frames.
 */

import { content, type RgbImage, rgbImage, style, temporal, tv } from "../mod.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { uniform } from "../core/random.ts";
import { type FrameSink, type FrameSource, stylizeFrames } from "../video/stylize_frames.ts";
import { assembleFrames, planChunks, seamWeight } from "../video/chunks.ts";
import { frameFiles, frameName } from "../video/frame_files.ts";
import { opticalFlow } from "../video/flow.ts";
import { flowReliability } from "../video/reliability.ts";
import { temporalError } from "../video/flicker.ts";
import { assert, assertEquals } from "./support/assert.ts";

const network = new FeatureNetwork(TINY, randomWeights(TINY, 3));
const W = 48;
const H = 36;

/** A smooth texture seen through a window panning 2 px right per frame. */
function pannedFrame(t: number): RgbImage {
  const n = W * H;
  const data = new Float32Array(3 * n);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const u = x + 2 * t;
      for (let c = 0; c < 3; c++) {
        data[c * n + y * W + x] = 0.5 + 0.25 * Math.sin(u / (4 + c) + y / 6) *
            Math.cos(y / (5 + c));
      }
    }
  }
  return rgbImage(W, H, data);
}

const frames = (count: number): FrameSource => ({
  count,
  read: (i) => Promise.resolve(pannedFrame(i)),
});
const styleImage = rgbImage(40, 40, uniform(3 * 40 * 40, 5, { lo: 0, hi: 1 }));
const settings = {
  size: W,
  scales: 1,
  iterations: 15,
  backend: "wasm" as const,
  noise: 0.5,
  seed: 4,
};
const costs = [content.use({}, 1), style.use({}, 40), tv.use({}, 1)];

async function run(dir: string, options: { temporal: boolean; count: number }) {
  const outputs = frameFiles((i) => `${dir}/${frameName(i)}`);
  const result = await stylizeFrames({
    network,
    plugins: options.temporal ? [...costs, temporal.use({}, 200)] : costs,
    styles: [styleImage],
    settings,
    frames: frames(options.count),
    outputs,
  }, { threads: 1 });
  return { result, outputs };
}

/** Mean temporal error of consecutive outputs, warped by the input's flow. */
async function flicker(read: (i: number) => Promise<RgbImage>, count: number): Promise<number> {
  let sum = 0;
  for (let t = 1; t < count; t++) {
    const backward = await opticalFlow(pannedFrame(t), pannedFrame(t - 1));
    const forward = await opticalFlow(pannedFrame(t - 1), pannedFrame(t));
    sum += temporalError(await read(t - 1), await read(t), {
      backward,
      reliability: flowReliability(backward, forward),
    });
  }
  return sum / (count - 1);
}

const bytes = (path: string) => Deno.readFile(path);

Deno.test("the temporal term lowers flicker against frames stylised on their own", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stylegram-frames-" });
  try {
    const alone = await run(`${dir}/alone`, { temporal: false, count: 4 });
    const chained = await run(`${dir}/chained`, { temporal: true, count: 4 });
    assertEquals(alone.result.made, 4);
    const independent = await flicker(alone.outputs.read, 4);
    const consistent = await flicker(chained.outputs.read, 4);
    console.log(
      `flicker: independent ${independent.toFixed(2)}, temporal ${consistent.toFixed(2)}`,
    );
    assert(consistent < independent / 2, `${consistent} vs ${independent}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a resumed run keeps the frames it finds and makes the same frames as one run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stylegram-frames-" });
  try {
    const whole = await run(`${dir}/whole`, { temporal: true, count: 4 });
    assertEquals(whole.result.made, 4);
    await Deno.mkdir(`${dir}/resumed`);
    for (const i of [0, 1]) {
      await Deno.copyFile(`${dir}/whole/${frameName(i)}`, `${dir}/resumed/${frameName(i)}`);
    }
    const resumed = await run(`${dir}/resumed`, { temporal: true, count: 4 });
    assertEquals([resumed.result.skipped, resumed.result.made], [2, 2]);
    for (const i of [2, 3]) {
      assertEquals(
        await bytes(`${dir}/resumed/${frameName(i)}`),
        await bytes(`${dir}/whole/${frameName(i)}`),
        `frame ${i + 1}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a chunk with warm-up frames writes only its own frames", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stylegram-frames-" });
  try {
    const events: string[] = [];
    const result = await stylizeFrames({
      network,
      plugins: [...costs, temporal.use({}, 200)],
      styles: [styleImage],
      settings,
      frames: frames(5),
      outputs: frameFiles((i) => `${dir}/${frameName(i)}`),
      range: { from: 2, to: 4, warmup: 1 },
    }, {
      threads: 1,
      onProgress: (e) => e.type === "frame" && events.push(`${e.frame}:${e.status}`),
    });
    assertEquals(result.made, 3);
    assertEquals(events, ["1:warmup", "2:made", "3:made"]);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(names, [frameName(2), frameName(3)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("chunks: the plan, the seam weights, and a cross-faded overlap", async () => {
  assertEquals(planChunks(10, 4, 2), [
    { from: 0, to: 4, warmup: 0 },
    { from: 4, to: 8, warmup: 2 },
    { from: 8, to: 10, warmup: 2 },
  ]);
  assertEquals(planChunks(5, 0, 3), [{ from: 0, to: 5, warmup: 0 }]);
  assertEquals(planChunks(6, 2, 5).map((c) => c.warmup), [0, 2, 2]);
  const chunks = planChunks(8, 4, 2);
  // Frames 2 and 3 fade towards chunk 2's warm-up frames: ⅓, ⅔.
  assertEquals([1, 2, 3, 4].map((i) => seamWeight(chunks, i)), [0, 1 / 3, 2 / 3, 0]);
  const flat = (v: number) => rgbImage(2, 2, new Float32Array(12).fill(v));
  const memory = (values: Record<number, number>): FrameSink => {
    const store = new Map<number, RgbImage>(
      Object.entries(values).map(([k, v]) => [Number(k), flat(v)]),
    );
    return {
      has: (i) => Promise.resolve(store.has(i)),
      read: (i) => Promise.resolve(store.get(i)!),
      write: (i, image) => Promise.resolve(void store.set(i, image)),
    };
  };
  const chain = memory({ 0: 0, 1: 0, 2: 0, 3: 0, 4: 0.9, 5: 0.9, 6: 0.9, 7: 0.9 });
  const warmups = memory({ 2: 0.6, 3: 0.6 });
  const final = memory({ 0: 0.5 }); // already made: kept
  await assembleFrames(chunks, { chain, warmups, final });
  const got = [];
  for (let i = 0; i < 8; i++) got.push(Math.round((await final.read(i)).data[0] * 1000) / 1000);
  assertEquals(got, [0.5, 0, 0.2, 0.4, 0.9, 0.9, 0.9, 0.9]);
});
