/**
 * `deno task bench --suite video`: video with temporal consistency.
 *
 * - Flow: Farnebäck's optical flow (opencv-js), ms per frame pair by size.
 * - Flicker: the mean temporal error between consecutive output frames after
 *   warping by the input's flow, on reliable pixels (0–255), frames
 *   stylised on their own against the temporal term (the previous frame,
 *   and long-term: 1, 2 and 4 frames back), on a panned and a zoomed clip of
 *   example photos and a real clip; with the style score (the style term of
 *   each output frame, InceptionV3, mean over frames) of each.
 * - Chunks: flicker over chunk seams against inside chunks, a hard cut
 *   against seams cross-faded over 2 and 4 warm-up frames.
 * - Throughput: frames per minute through Redis with one worker (all cores)
 *   and two workers (one core each) on this machine.
 *
 * @module
 */

import { fixed, printTable, ROOT, runChild } from "./measure.ts";
import { makeClip } from "../scripts/test_clip.ts";
import { startRedis } from "../scripts/redis_server.ts";
import { opticalFlow } from "../video/flow.ts";
import { flowReliability } from "../video/reliability.ts";
import { temporalError } from "../video/flicker.ts";
import { frameName, openFrameInput } from "../video/frame_files.ts";
import { readImage } from "../io.ts";
import { loadNetwork, type RgbImage, style } from "../mod.ts";
import { FileStore } from "../io.ts";
import { compileObjective } from "../core/objective.ts";

/** One clip's flicker and style, per mode. */
export interface FlickerRow {
  clip: string;
  mode: string;
  flicker: number;
  styleScore: number;
  secondsPerFrame: number;
}

/** What the suite measured. */
export interface VideoSuiteResult {
  flowMs: { size: string; ms: number }[];
  flicker: FlickerRow[];
  seams: { overlap: number; seam: number; seamMax: number; inside: number }[];
  throughput: { workers: string; framesPerMinute: number; seconds: number }[];
}

/** Options of {@linkcode videoSuite}. */
export interface VideoSuiteOptions {
  /** Longer side of the frames (default 192). */
  size?: number;
  /** Frames per clip (default 10). */
  frames?: number;
  /** Iterations per frame (default 80). */
  iterations?: number;
}

const STYLE = `${ROOT}examples/van_gogh.jpg`;
/**
 * A real clip under a free licence: people walking past a building, from
 * OpenCV's samples (Debian's `opencv-doc`, Apache-2.0).
 */
const REAL_CLIP = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

/** The first `frames` frames of `input`, losslessly. */
async function firstFrames(input: string, output: string, frames: number): Promise<void> {
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-loglevel",
      "error",
      "-y",
      "-i",
      input,
      "-frames:v",
      String(frames),
      "-c:v",
      "ffv1",
      output,
    ],
  }).output();
  if (!out.success) throw new Error(`ffmpeg: ${new TextDecoder().decode(out.stderr)}`);
}

/** Per-pair temporal errors of a folder of output frames against the input's flow. */
async function pairErrors(inputs: RgbImage[], outputs: string): Promise<number[]> {
  const errors: number[] = [];
  let previous = await readImage(`${outputs}/${frameName(0)}`);
  for (let t = 1; t < inputs.length; t++) {
    const current = await readImage(`${outputs}/${frameName(t)}`);
    const backward = await opticalFlow(inputs[t], inputs[t - 1]);
    const forward = await opticalFlow(inputs[t - 1], inputs[t]);
    errors.push(temporalError(previous, current, {
      backward,
      reliability: flowReliability(backward, forward),
    }));
    previous = current;
  }
  return errors;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The style term of each output frame (the optimised network's), averaged. */
async function styleScore(outputs: string, count: number): Promise<number> {
  const network = await loadNetwork("inception", { store: new FileStore() });
  const styleImage = await readImage(STYLE);
  let sum = 0;
  for (let t = 0; t < count; t++) {
    const frame = await readImage(`${outputs}/${frameName(t)}`);
    const objective = await compileObjective({
      network,
      plugins: [style.use({}, 1)],
      size: { width: frame.width, height: frame.height },
      styles: [{ image: styleImage, weight: 1 }],
    }, { backend: "native" });
    sum += (await objective.evaluate(frame.data)).total;
    await objective.release();
  }
  return sum / count;
}

/** Runs `cli.ts video` and returns its wall seconds. */
async function video(args: string[]): Promise<number> {
  const run = await runChild(Deno.execPath(), ["run", "-A", `${ROOT}cli.ts`, "video", ...args]);
  if (run.code !== 0) throw new Error(`cli.ts video ${args.join(" ")}: ${run.stderr}`);
  return run.wallMs / 1000;
}

/** Runs the suite, printing its tables. */
export async function videoSuite(options: VideoSuiteOptions = {}): Promise<VideoSuiteResult> {
  const size = options.size ?? 192;
  const frames = options.frames ?? 10;
  const iterations = options.iterations ?? 80;
  const dir = await Deno.makeTempDir({ prefix: "stylegram-video-bench-" });
  const result: VideoSuiteResult = { flowMs: [], flicker: [], seams: [], throughput: [] };
  try {
    for (const [w, h] of [[256, 192], [512, 384], [1024, 768]]) {
      await makeClip(`${dir}/flow_${w}.mp4`, { width: w, frames: 2, audio: false });
      const a = await openFrameInput(`${dir}/flow_${w}.mp4`, {
        size: w,
        workDir: `${dir}/flow_${w}`,
      });
      const [f0, f1] = [await a.read(0), await a.read(1)];
      await opticalFlow(f0, f1); // loads OpenCV
      const times: number[] = [];
      for (let k = 0; k < 5; k++) {
        const t0 = performance.now();
        await opticalFlow(f0, f1);
        times.push(performance.now() - t0);
      }
      result.flowMs.push({ size: `${w}×${h}`, ms: times.sort((x, y) => x - y)[2] });
    }
    console.log("Farnebäck optical flow (opencv-js, one direction), median of 5:");
    printTable(["frames", "ms per pair"], result.flowMs.map((r) => [r.size, fixed(r.ms, 1)]));

    const common = [
      "--size",
      String(size),
      "--iterations",
      String(iterations),
      "--scales",
      "1",
      "--quiet",
    ];
    const clips: { name: string; motion: "pan" | "zoom" | "real"; image: string }[] = [
      { name: "pan (cat)", motion: "pan", image: `${ROOT}examples/cat.jpg` },
      { name: "zoom (astronaut)", motion: "zoom", image: `${ROOT}examples/astronaut.jpg` },
    ];
    if (await Deno.stat(REAL_CLIP).then(() => true, () => false)) {
      clips.push({ name: "real (OpenCV's vtest.avi)", motion: "real", image: REAL_CLIP });
    } else {
      console.log(`(no real clip: apt-get install opencv-doc for ${REAL_CLIP})`);
    }
    for (const clip of clips) {
      const path = `${dir}/${clip.motion}.mkv`;
      if (clip.motion === "real") await firstFrames(REAL_CLIP, path, frames);
      else await makeClip(path, { frames, width: size, motion: clip.motion, image: clip.image });
      const input = await openFrameInput(path, { size, workDir: `${dir}/${clip.motion}_in` });
      const inputs = await Promise.all(Array.from({ length: frames }, (_, t) => input.read(t)));
      const modes: [string, string[]][] = [
        ["independent", ["--temporal-weight", "0"]],
        ["temporal", []],
        ["long-term 1,2,4", ["--temporal-frames", "1,2,4"]],
      ];
      for (const [mode, extra] of modes) {
        const out = `${dir}/${clip.motion}_${mode}`;
        const seconds = await video([path, STYLE, "-o", out, ...common, ...extra]);
        result.flicker.push({
          clip: clip.name,
          mode,
          flicker: mean(await pairErrors(inputs, out)),
          styleScore: await styleScore(out, frames),
          secondsPerFrame: seconds / frames,
        });
      }
      if (clip.motion === "pan") {
        for (const overlap of [0, 2, 4]) {
          const out = `${dir}/chunks_${overlap}`;
          await video([
            path,
            STYLE,
            "-o",
            out,
            ...common,
            "--chunk-frames",
            "4",
            "--chunk-overlap",
            String(overlap),
          ]);
          const errors = await pairErrors(inputs, out);
          // Pair t is frames t → t+1. A seam's transition is the pairs from the
          // first cross-faded frame to the next chunk's first frame.
          const transition = (t: number) =>
            [4, 8].some((from) => t >= from - overlap - 1 && t <= from - 1);
          const seam = errors.filter((_, t) => transition(t));
          const inside = errors.filter((_, t) => !transition(t));
          result.seams.push({
            overlap,
            seam: mean(seam),
            seamMax: Math.max(...seam),
            inside: mean(inside),
          });
        }
      }
    }
    console.log("\nFlicker (mean temporal error, 0–255, reliable pixels) and style score:");
    const byClip = (clip: string, mode: string) =>
      result.flicker.find((r) => r.clip === clip && r.mode === mode)!;
    printTable(
      ["clip", "mode", "flicker", "× lower", "style score", "vs independent", "s/frame"],
      result.flicker.map((r) => {
        const alone = byClip(r.clip, "independent");
        return [
          r.clip,
          r.mode,
          fixed(r.flicker, 2),
          fixed(alone.flicker / r.flicker, 2),
          r.styleScore.toExponential(3),
          `${fixed((100 * (r.styleScore - alone.styleScore)) / alone.styleScore, 1)} %`,
          fixed(r.secondsPerFrame, 1),
        ];
      }),
    );
    console.log(
      "\nChunks of 4 frames (pan): flicker over each seam's transition (the cross-faded frames " +
        "and the step into the next chunk) and inside chunks:",
    );
    printTable(
      ["overlap", "transition mean", "transition max", "inside", "max / inside"],
      result.seams.map((r) => [
        String(r.overlap),
        fixed(r.seam, 2),
        fixed(r.seamMax, 2),
        fixed(r.inside, 2),
        fixed(r.seamMax / r.inside, 1),
      ]),
    );

    // Throughput through Redis: one worker on every core, two workers on one core each.
    const redis = await startRedis();
    const path = `${dir}/pan.mkv`;
    try {
      for (
        const [label, threads] of [["1 worker × 2 threads", [2]], ["2 workers × 1 thread", [
          1,
          1,
        ]]] as const
      ) {
        const workers = threads.map((t) =>
          new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              `${ROOT}cli.ts`,
              "worker",
              "--redis",
              redis.url,
              "--threads",
              String(t),
            ],
            stdout: "null",
            stderr: "null",
          }).spawn()
        );
        try {
          const out = `${dir}/throughput_${threads.length}`;
          const seconds = await video([
            path,
            STYLE,
            "-o",
            out,
            ...common,
            "--chunk-frames",
            String(Math.ceil(frames / 2)),
            "--chunk-overlap",
            "2",
            "--redis",
            redis.url,
          ]);
          result.throughput.push({
            workers: label,
            framesPerMinute: (60 * frames) / seconds,
            seconds,
          });
        } finally {
          for (const w of workers) {
            w.kill("SIGTERM");
            await w.status;
          }
        }
      }
    } finally {
      await redis.stop();
    }
    console.log(`\nThroughput through Redis (${frames} frames, 2 chunks with 2 warm-up frames):`);
    printTable(
      ["workers", "seconds", "frames/minute"],
      result.throughput.map((r) => [r.workers, fixed(r.seconds, 1), fixed(r.framesPerMinute, 1)]),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return result;
}
