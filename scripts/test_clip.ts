/**
 * Clips for tests and benchmarks, made with ffmpeg from an example image: a window panning right
 * across the photo (so the flow is known: the content moves left), with a
 * sine tone as audio.
 *
 * @module
 */

const root = new URL("../", import.meta.url).pathname;

/** Options of {@linkcode makeClip}. */
export interface ClipOptions {
  /** Frames (default 12). */
  frames?: number;
  /** Frames per second (default 12). */
  fps?: number;
  /** Frame width (default 160; height is ¾ of it). */
  width?: number;
  /** Pan speed in pixels per frame at the frame's size (default 3). */
  pan?: number;
  /** Add a sine tone (default true). */
  audio?: boolean;
  /** The photo panned over (default examples/cat.jpg). */
  image?: string;
  /** `pan` (default): the window moves right; `zoom`: it closes in on the centre, 2 % a frame. */
  motion?: "pan" | "zoom";
}

/** Writes a panned clip of `examples/cat.jpg` to `path` (any container ffmpeg writes). */
export async function makeClip(path: string, options: ClipOptions = {}): Promise<void> {
  const frames = options.frames ?? 12;
  const fps = options.fps ?? 12;
  const width = options.width ?? 160;
  const height = Math.round((width * 3) / 4 / 2) * 2;
  const pan = options.pan ?? 3;
  const seconds = frames / fps;
  const audio = options.audio ?? true;
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-loop",
    "1",
    "-i",
    options.image ?? `${root}examples/cat.jpg`,
    ...(audio ? ["-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`] : []),
    "-filter_complex",
    options.motion === "zoom"
      ? `[0:v]scale=${2 * width}:-2,zoompan=z='1+0.02*on':d=1:s=${width}x${height}:` +
        `x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2',format=yuv420p[v]`
      // The photo at twice the frame's width; the window moves `pan` px per frame.
      : `[0:v]scale=${2 * width}:-2,crop=${width}:${height}:'n*${pan}':0,format=yuv420p[v]`,
    "-map",
    "[v]",
    ...(audio ? ["-map", "1:a", "-c:a", "aac"] : []),
    "-frames:v",
    String(frames),
    "-r",
    String(fps),
    "-c:v",
    "libx264",
    "-crf",
    "12",
    path,
  ];
  const out = await new Deno.Command("ffmpeg", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`ffmpeg: ${new TextDecoder().decode(out.stderr)}`);
}

/** What ffprobe says of a file's streams. */
export async function probeStreams(path: string): Promise<Record<string, unknown>[]> {
  const out = await new Deno.Command("ffprobe", {
    args: ["-v", "error", "-count_frames", "-print_format", "json", "-show_streams", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ffprobe: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)).streams;
}
