/**
 * The video driver on a panned sequence with the tiny network: the temporal
 * term lowers flicker against frames stylised on their own, a resumed run
 * makes the same frames as an uninterrupted one, and a chunk with warm-up
 * frames writes only its own frames.
 */

import { content, type RgbImage, rgbImage, style, temporal, tv } from "../mod.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { TINY } from "../core/network/tiny.ts";
import { uniform } from "../core/random.ts";
import { type FrameSource, stylizeFrames } from "../video/stylize_frames.ts";
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
