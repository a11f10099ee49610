/**
 * Frames on disk: the input of a video run (a video file, a folder of
 * images, or a numbered pattern such as `in/frame_%04d.png`), the stylised
 * frames (a folder or a pattern, or a video file made from a work folder),
 * and the work folder's record of the run it belongs to, so that a resumed
 * run never mixes frames of other settings. Deno and Node (files).
 *
 * @module
 */

import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { RgbImage } from "../mod.ts";
import { fitLongSide, resizeImage } from "../core/image.ts";
import { readImage, writeFileAtomic, writeImage } from "../io.ts";
import { extractFrames, probeVideo, VideoError } from "./ffmpeg.ts";
import type { FrameSink, FrameSource } from "./stylize_frames.ts";

/** Extensions written as a video file (anything else is a folder or a pattern). */
const VIDEO_EXTENSIONS = ["mp4", "mov", "mkv", "webm", "avi", "m4v"];
const IMAGE_FILE = /\.(png|jpe?g|webp|tiff?|bmp|gif|avif)$/i;
/** A printf-style frame number: `%d`, `%04d`. */
const NUMBER = /%0?(\d*)d/;

/** Whether `path` names a video file by its extension. */
export function isVideoPath(path: string): boolean {
  const dot = path.lastIndexOf(".");
  return dot > 0 && VIDEO_EXTENSIONS.includes(path.slice(dot + 1).toLowerCase());
}

/** `pattern` with its frame number filled in. */
function numbered(pattern: string, n: number): string {
  return pattern.replace(NUMBER, (_, width: string) => String(n).padStart(Number(width || 0), "0"));
}

/** The name of frame `index` (from 0) in a work folder. */
export const frameName = (index: number): string => `${String(index + 1).padStart(6, "0")}.png`;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A video run's input frames, and what the output video needs of the input. */
export interface FrameInput extends FrameSource {
  /** The size frames are read at. */
  readonly width: number;
  /** The size frames are read at. */
  readonly height: number;
  /** Frame rate of a video input (images: 25 unless given). */
  readonly fps?: string;
  /** The video file whose audio the output keeps, when it has audio. */
  readonly audioFrom?: string;
}

/** The image files of a folder, in name order with numbers by value (`f2` before `f10`). */
export async function imageFilesIn(folder: string): Promise<string[]> {
  const names = (await readdir(folder)).filter((n) => IMAGE_FILE.test(n));
  names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return names.map((n) => join(folder, n));
}

/** Image files of a folder or a pattern, in frame order. */
async function imageFiles(input: string): Promise<string[]> {
  if (NUMBER.test(input)) {
    const files: string[] = [];
    // Numbering starts at 0 or 1 and runs without gaps.
    let n = (await exists(numbered(input, 0))) ? 0 : 1;
    while (await exists(numbered(input, n))) files.push(numbered(input, n++));
    if (!files.length) {
      throw new VideoError(`${input}: no frames match (looked for ${numbered(input, 1)})`);
    }
    return files;
  }
  const files = await imageFilesIn(input);
  if (!files.length) throw new VideoError(`${input}: the folder holds no image files`);
  return files;
}

/**
 * Opens the frames of `input` at a long side of `size` px. A video is
 * decoded once into `workDir/input` (kept for a resumed run); images are read
 * as they are needed and must share one aspect ratio.
 */
export async function openFrameInput(
  input: string,
  options: {
    size: number;
    workDir: string;
    maxPixels?: number;
    signal?: AbortSignal;
    /** Called once the input is known to be readable, before anything is written. */
    onReadable?: () => Promise<void>;
  },
): Promise<FrameInput> {
  const isPattern = NUMBER.test(input);
  let info;
  try {
    info = isPattern ? undefined : await stat(input);
  } catch {
    throw new VideoError(`${input}: no such file or folder`);
  }
  if (isPattern || info?.isDirectory()) {
    const files = await imageFiles(input);
    const first = await readImage(files[0], { maxPixels: options.maxPixels });
    const size = fitLongSide(first, options.size);
    await options.onReadable?.();
    return {
      count: files.length,
      ...size,
      read: async (index) => {
        const image = await readImage(files[index], { maxPixels: options.maxPixels });
        if (Math.abs(image.width / image.height - first.width / first.height) > 0.01) {
          throw new VideoError(
            `${files[index]} is ${image.width}×${image.height}, another shape than the first ` +
              `frame (${first.width}×${first.height}); every frame needs the same aspect ratio`,
          );
        }
        return resizeImage(image, size);
      },
    };
  }
  const video = await probeVideo(input);
  const size = fitLongSide(video, options.size);
  const dir = join(options.workDir, `input_${size.width}x${size.height}`);
  await options.onReadable?.();
  if (!(await exists(dir))) {
    await Deno.mkdir(options.workDir, { recursive: true });
    await extractFrames(input, dir, { ...size, signal: options.signal });
  }
  const count = (await readdir(dir)).filter((n) => n.endsWith(".png")).length;
  return {
    count,
    ...size,
    fps: video.fps,
    audioFrom: video.audio ? input : undefined,
    read: (index) => readImage(join(dir, frameName(index))),
  };
}

/** Where the stylised frames of a run go. */
export interface FrameOutput {
  /** The frames. */
  readonly sink: FrameSink;
  /** The folder the frames are in, when they are numbered `000001.png`, … there. */
  readonly dir?: string;
}

/**
 * Stylised frames as image files: `path(index)` names frame `index`;
 * `quality` is for JPEG and WebP files.
 */
export function frameFiles(
  path: (index: number) => string,
  options: { quality?: number } = {},
): FrameSink {
  return {
    has: (index) => exists(path(index)),
    read: (index) => readImage(path(index)),
    write: async (index, image: RgbImage) => {
      await Deno.mkdir(dirname(path(index)), { recursive: true });
      await writeImage(image, path(index), options);
    },
  };
}

/**
 * The stylised frames for `output`: a video file's frames go to
 * `workDir/output` until they are encoded; a pattern names each file; a
 * folder gets `000001.png`, ….
 */
export function openFrameOutput(
  output: string,
  workDir: string,
  options: { quality?: number } = {},
): FrameOutput {
  if (isVideoPath(output)) {
    const dir = join(workDir, "output");
    return { sink: frameFiles((i) => join(dir, frameName(i))), dir };
  }
  if (NUMBER.test(output)) return { sink: frameFiles((i) => numbered(output, i + 1), options) };
  return { sink: frameFiles((i) => join(output, frameName(i))), dir: output };
}

/** The work folder of a run writing `output`. */
export function workDirFor(output: string): string {
  if (isVideoPath(output)) return `${output}.frames`;
  return join(NUMBER.test(output) ? dirname(output) : output, ".stylegram");
}

/**
 * Records which run a work folder belongs to, or refuses when it holds
 * another run's frames (other input, size or recipe): a resumed run must
 * not mix them.
 */
export async function claimWorkDir(workDir: string, run: Record<string, unknown>): Promise<void> {
  const path = join(workDir, "run.json");
  const text = JSON.stringify(run, null, 2) + "\n";
  let known: string | undefined;
  try {
    known = new TextDecoder().decode(await readFile(path));
  } catch {
    // a new run
  }
  if (known !== undefined && known !== text) {
    throw new VideoError(
      `${workDir} holds frames of another run (other input, size or settings); remove it to ` +
        `start over, or run with the same settings to resume`,
    );
  }
  if (known === undefined) {
    await Deno.mkdir(workDir, { recursive: true });
    await writeFileAtomic(path, new TextEncoder().encode(text));
  }
}
