/**
 * `cli.ts video` end to end with the real ffmpeg: a clip in, a clip out with
 * the same frame count, rate and audio; folders and patterns of frames; a
 * run stopped with Ctrl-C resumes and keeps its frames; bad input gets one
 * line and leaves nothing behind; and `batch` makes one image per input.
 */

import { ownLines, runCli } from "./support/cli_run.ts";
import { makeClip, probeStreams } from "../scripts/test_clip.ts";
import { assert, assertEquals } from "./support/assert.ts";

/** Asserts that `text` matches `pattern`. */
const assertMatch = (text: string, pattern: RegExp) => assert(pattern.test(text), text);

const root = new URL("..", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "stylegram-video-" });
const clip = `${dir}/clip.mp4`;
const style = `${root}examples/van_gogh.jpg`;
await makeClip(clip);

const fast = [
  "--network",
  "tiny",
  "--size",
  "48",
  "--iterations",
  "6",
  "--scales",
  "1",
  "--backend",
  "wasm",
  "--threads",
  "1",
];

/** Runs `cli.ts video` in the test folder. */
const video = (
  args: string[],
  options: { interruptAfter?: RegExp; env?: Record<string, string> } = {},
) =>
  runCli(["video", ...args], { cwd: dir, signalAfter: options.interruptAfter, env: options.env });

const events = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));
const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("a clip becomes a stylised clip with its frame count, frame rate and audio", async () => {
  const out = `${dir}/out.mp4`;
  const r = await video([clip, style, "-o", out, "--json", ...fast]);
  assertEquals(r.code, 0, r.stderr);
  const list = events(r.stdout);
  assertEquals(list[0].event, "start");
  assertEquals(list[0].frames, 12);
  const frames = list.filter((e) => e.event === "frame");
  assertEquals(frames.map((e) => e.frame), Array.from({ length: 12 }, (_, i) => i + 1));
  assert(frames.every((e) => e.status === "made"));
  assert(frames.slice(1, -1).every((e) => typeof e.eta === "number"), "frames carry an ETA");
  assert(list.some((e) => e.event === "iteration" && "temporal" in e.terms));
  assertEquals(list[list.length - 1].event, "done");
  const streams = await probeStreams(out);
  const v = streams.find((s) => s.codec_type === "video")!;
  assertEquals([v.width, v.height, v.nb_read_frames, v.avg_frame_rate], [48, 36, "12", "12/1"]);
  assert(streams.some((s) => s.codec_type === "audio"), "the audio is kept");
  assertEquals(await exists(`${out}.frames`), false, "the work folder is removed");
});

Deno.test("frames in a folder or a pattern, out to a folder or a pattern", async () => {
  const frames = `${dir}/frames`;
  await Deno.mkdir(frames);
  const ff = await new Deno.Command("ffmpeg", {
    args: ["-loglevel", "error", "-i", clip, `${frames}/f_%03d.png`],
  }).output();
  assert(ff.success);
  const folder = await video([frames, style, "-o", `${dir}/styled`, ...fast, "--quiet"]);
  assertEquals(folder.code, 0, folder.stderr);
  const names = [...Deno.readDirSync(`${dir}/styled`)].map((e) => e.name).filter((n) =>
    n.endsWith(".png")
  );
  assertEquals(names.length, 12);
  const pattern = await video([
    `${frames}/f_%03d.png`,
    style,
    "-o",
    `${dir}/pattern/out_%02d.jpg`,
    ...fast,
    "--quiet",
  ]);
  assertEquals(pattern.code, 0, pattern.stderr);
  assert(await exists(`${dir}/pattern/out_01.jpg`));
  assert(await exists(`${dir}/pattern/out_12.jpg`));
  assertEquals(await exists(`${dir}/pattern/out_13.jpg`), false);
});

Deno.test("a run stopped with Ctrl-C keeps its frames and resumes; another run's folder is refused", async () => {
  const out = `${dir}/resumed.mp4`;
  const stopped = await video([clip, style, "-o", out, "--json", ...fast], {
    interruptAfter: /"event":"frame","frame":3,/,
  });
  assertEquals(stopped.code, 130, stopped.stderr);
  assertEquals(await exists(out), false, "no video yet");
  const kept = [...Deno.readDirSync(`${out}.frames/output`)].length;
  assert(kept >= 3, `${kept} frames kept`);

  const other = await video([clip, style, "-o", out, "--style-weight", "7", ...fast]);
  assertEquals(other.code, 1);
  assertMatch(ownLines(other.stderr).join("\n"), /holds frames of another run/);

  const resumed = await video([clip, style, "-o", out, "--json", ...fast]);
  assertEquals(resumed.code, 0, resumed.stderr);
  const frames = events(resumed.stdout).filter((e) => e.event === "frame");
  assertEquals(frames.filter((e) => e.status === "skipped").length, kept);
  assertEquals(frames.length, 12);
  const v = (await probeStreams(out)).find((s) => s.codec_type === "video")!;
  assertEquals(v.nb_read_frames, "12");
});

const badCases: [string, () => Promise<string[]>, RegExp, Record<string, string>?][] = [
  ["not a video", async () => {
    await Deno.writeTextFile(`${dir}/notes.mp4`, "these are not frames\n");
    return [`${dir}/notes.mp4`, style];
  }, /notes\.mp4 is not a video ffmpeg can read/],
  ["a file with no video stream", async () => {
    const ff = await new Deno.Command("ffmpeg", {
      args: [
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=0.5",
        "-c:a",
        "aac",
        `${dir}/tone.m4a`,
      ],
    }).output();
    assert(ff.success);
    return [`${dir}/tone.m4a`, style];
  }, /tone\.m4a has no video stream/],
  ["an empty folder", async () => {
    await Deno.mkdir(`${dir}/empty`, { recursive: true });
    return [`${dir}/empty`, style];
  }, /holds no image files/],
  [
    "a pattern that matches nothing",
    () => Promise.resolve([`${dir}/none_%04d.png`, style]),
    /no frames match/,
  ],
  [
    "a missing input",
    () => Promise.resolve([`${dir}/missing.mp4`, style]),
    /missing\.mp4: no such file/,
  ],
  ["a style image that does not decode", async () => {
    await Deno.writeFile(`${dir}/broken.jpg`, new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]));
    return [clip, `${dir}/broken.jpg`];
  }, /broken\.jpg/],
  ["no ffmpeg on the PATH", () => Promise.resolve([clip, style]), /ffmpeg is not installed/, {
    PATH: "/nonexistent",
  }],
];

for (const [name, make, message, env] of badCases) {
  Deno.test(`bad input, one line and nothing written: ${name}`, async () => {
    const out = `${dir}/bad_${name.replaceAll(" ", "_")}.mp4`;
    const r = await video([...(await make()), "-o", out, ...fast], { env });
    assertEquals(r.code, 1, r.stderr);
    const lines = ownLines(r.stderr);
    assertEquals(lines.length, 1, r.stderr);
    assertMatch(lines[0], message);
    assertEquals(await exists(out), false);
    assertEquals(await exists(`${out}.frames`), false, "no work folder");
  });
}

Deno.test("usage mistakes exit 2: no style, no output, image-only flags", async () => {
  for (
    const [args, message] of [
      [[clip, "-o", `${dir}/x.mp4`, ...fast], /at least one style image/],
      [[clip, style, ...fast], /missing the output/],
      [[clip, style, "-o", `${dir}/x.mp4`, "--texture"], /unknown option --texture/],
      [[clip, style, "-o", `${dir}/x.mp4`, "--fps", "0"], /--fps needs a frame rate/],
    ] as [string[], RegExp][]
  ) {
    const r = await video(args);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(ownLines(r.stderr)[0] ?? r.stderr, message);
  }
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

Deno.test("batch: one PNG per image, kept ones skipped, clashing names and a missing style refused", async () => {
  const batch = (args: string[]) => runCli(["batch", ...args], { cwd: dir });
  const images = `${dir}/photos`;
  await Deno.mkdir(images, { recursive: true });
  await Deno.copyFile(`${root}examples/cat.jpg`, `${images}/cat.jpg`);
  await Deno.copyFile(`${root}examples/astronaut.jpg`, `${images}/astronaut.jpg`);
  const first = await batch([
    images,
    "--style",
    style,
    "-o",
    `${dir}/styled_batch`,
    "--json",
    ...fast,
  ]);
  assertEquals(first.code, 0, first.stderr);
  const made = events(first.stdout).filter((e) => e.event === "image");
  assertEquals(made.map((e) => e.status), ["made", "made"]);
  assertEquals(
    [...Deno.readDirSync(`${dir}/styled_batch`)].map((e) => e.name).sort(),
    ["astronaut.png", "cat.png"],
  );
  const again = await batch([
    images,
    "--style",
    style,
    "-o",
    `${dir}/styled_batch`,
    "--json",
    ...fast,
  ]);
  assertEquals(again.code, 0, again.stderr);
  assertEquals(events(again.stdout).filter((e) => e.event === "image").map((e) => e.status), [
    "kept",
    "kept",
  ]);
  await Deno.copyFile(`${root}examples/cat.jpg`, `${images}/cat.png`);
  const clash = await batch([images, "--style", style, "-o", `${dir}/clash`, ...fast]);
  assertEquals(clash.code, 2, clash.stderr);
  assertMatch(ownLines(clash.stderr)[0], /would both be written to .*cat\.png/);
  const noStyle = await batch([`${root}examples/cat.jpg`, "-o", `${dir}/nostyle`, ...fast]);
  assertEquals(noStyle.code, 2, noStyle.stderr);
  assertMatch(ownLines(noStyle.stderr)[0], /--style FILE/);
  assertEquals(await exists(`${dir}/nostyle`), false);
});
