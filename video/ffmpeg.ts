/**
 * Video files through the `ffmpeg` and `ffprobe` programs (Debian's `ffmpeg`
 * package): what a video holds, its frames out as PNG files at the size the
 * run works at, and stylised frames back into a video with the input's frame
 * rate and audio. Deno only (it runs programs).
 *
 * @module
 */

import { rename, rm } from "node:fs/promises";

/** A problem with a video or with ffmpeg, said in one line. */
export class VideoError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "VideoError";
  }
}

/** What a video file holds. */
export interface VideoInfo {
  /** Frame width in pixels (after rotation metadata). */
  readonly width: number;
  /** Frame height in pixels. */
  readonly height: number;
  /** Frames per second, as ffmpeg writes it (`30000/1001`). */
  readonly fps: string;
  /** Whether it has an audio stream. */
  readonly audio: boolean;
}

/** The last meaningful line of a program's error output. */
function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  return lines[lines.length - 1] ?? "no message";
}

/** Runs `program` with `args`; its standard output, or a {@linkcode VideoError}. */
async function run(
  program: "ffmpeg" | "ffprobe",
  args: string[],
  signal?: AbortSignal,
): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new VideoError(
        `${program} is not installed (or not on PATH): install ffmpeg (Debian: apt-get install ffmpeg)`,
      );
    }
    throw e;
  }
  signal?.throwIfAborted();
  if (!output.success) {
    throw new VideoError(`${program}: ${lastLine(new TextDecoder().decode(output.stderr))}`);
  }
  return new TextDecoder().decode(output.stdout);
}

/** Checks that ffmpeg and ffprobe run, before any work starts. */
export async function checkFfmpeg(): Promise<void> {
  await run("ffmpeg", ["-hide_banner", "-version"]);
  await run("ffprobe", ["-hide_banner", "-version"]);
}

/**
 * Reads what a video holds.
 *
 * @example
 * ```ts ignore
 * const { width, height, fps, audio } = await probeVideo("clip.mp4");
 * ```
 */
export async function probeVideo(path: string): Promise<VideoInfo> {
  try {
    await Deno.stat(path);
  } catch {
    throw new VideoError(`${path}: no such file`);
  }
  let text: string;
  try {
    text = await run("ffprobe", [
      "-v",
      "error",
      "-print_format",
      "json",
      "-show_streams",
      path,
    ]);
  } catch (e) {
    if (!(e instanceof VideoError) || e.message.includes("not installed")) throw e;
    throw new VideoError(`${path} is not a video ffmpeg can read (${e.message})`);
  }
  const streams = (JSON.parse(text).streams ?? []) as Record<string, unknown>[];
  const video = streams.find((s) =>
    s.codec_type === "video" && (s.disposition as Record<string, number>)?.attached_pic !== 1
  );
  if (!video) throw new VideoError(`${path} has no video stream`);
  const rotation = Math.abs(
    Number(
      ((video.side_data_list ?? []) as Record<string, unknown>[]).find((d) =>
        d.rotation !== undefined
      )?.rotation ?? 0,
    ),
  );
  const turned = rotation === 90 || rotation === 270;
  const width = Number(turned ? video.height : video.width);
  const height = Number(turned ? video.width : video.height);
  if (!(width > 0 && height > 0)) throw new VideoError(`${path}: its video has no frame size`);
  const fps = String(video.avg_frame_rate ?? "0/0");
  const rate = fps.split("/").map(Number);
  const valid = rate.length === 2 && rate[0] > 0 && rate[1] > 0;
  return {
    width,
    height,
    fps: valid ? fps : String(video.r_frame_rate ?? "25/1"),
    audio: streams.some((s) => s.codec_type === "audio"),
  };
}

/**
 * Decodes every frame of `path` into `dir` as `000001.png`, `000002.png`, …
 * scaled to `size`; returns how many. Written into a fresh folder beside
 * `dir` and renamed, so `dir` either holds every frame or does not exist.
 */
export async function extractFrames(
  path: string,
  dir: string,
  options: { width: number; height: number; signal?: AbortSignal },
): Promise<number> {
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await Deno.mkdir(partial, { recursive: true });
  await run("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    "-i",
    path,
    "-map",
    "0:v:0",
    "-vsync",
    "passthrough",
    "-vf",
    `scale=${options.width}:${options.height}:flags=lanczos`,
    `${partial}/%06d.png`,
  ], options.signal);
  let count = 0;
  for await (const entry of Deno.readDir(partial)) if (entry.name.endsWith(".png")) count++;
  if (count === 0) throw new VideoError(`${path} has no frames`);
  await rename(partial, dir);
  return count;
}

/**
 * Encodes `dir/000001.png`, … into `output` (H.264 in MP4 and MOV, VP9 in
 * WebM, the container's default elsewhere) at `fps`, with the audio of
 * `audioFrom` when given. Written under a temporary name and renamed, so
 * `output` is complete or untouched.
 */
export async function encodeVideo(
  dir: string,
  output: string,
  options: { fps: string; audioFrom?: string; signal?: AbortSignal },
): Promise<void> {
  const dot = output.lastIndexOf(".");
  const extension = output.slice(dot + 1).toLowerCase();
  const partial = `${output.slice(0, dot)}.partial-${crypto.randomUUID().slice(0, 8)}.${extension}`;
  const codec = extension === "webm"
    ? ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "30"]
    : ["-c:v", "libx264", "-crf", "18", "-preset", "medium"];
  try {
    await run("ffmpeg", [
      "-hide_banner",
      "-loglevel",
      "error",
      "-nostdin",
      "-y",
      "-framerate",
      options.fps,
      "-i",
      `${dir}/%06d.png`,
      ...(options.audioFrom ? ["-i", options.audioFrom, "-map", "0:v:0", "-map", "1:a?"] : []),
      ...codec,
      // 4:2:0 needs even sides.
      "-vf",
      "scale=trunc(iw/2)*2:trunc(ih/2)*2",
      "-pix_fmt",
      "yuv420p",
      partial,
    ], options.signal);
    await rename(partial, output);
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
}
