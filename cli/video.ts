/**
 * `deno run -A cli.ts video IN STYLE [STYLE…] -o OUT`: stylises a video (or a
 * folder or numbered pattern of frames) frame by frame with temporal
 * consistency, into a video with the input's frame rate and audio (or into
 * frames). Progress per frame with an ETA; `--json` events; a run that
 * stops resumes where it stopped (its frames are kept in a work folder).
 *
 * @module
 */

import { join, resolve } from "node:path";
import { rm } from "node:fs/promises";
import { integerOption } from "../mod.ts";
import { DEFAULT_PLUGINS } from "../core/recipe.ts";
import { readImage, writeFileAtomic } from "../io.ts";
import { type Flag, FLAGS, helpText, numberFlag, parseCommandLine, UsageError } from "./args.ts";
import { type Command, runCommand } from "./command.ts";
import { openNetwork, pluginRegistry, recipeFromFlags, VIDEO_PLUGINS } from "./job_setup.ts";
import { type InputFile, InputGuard } from "./input_guard.ts";
import { checkMaskCount, listMaskFiles, maskFiles, readMasks, recipeMaskPaths } from "./masks.ts";
import { autoMemory, collectGarbage, describeMemory } from "./memory.ts";
import { formatDuration, progressMode, ProgressReporter } from "./progress.ts";
import { VERSION } from "./version.ts";
import { checkFfmpeg, encodeVideo } from "../video/ffmpeg.ts";
import {
  claimWorkDir,
  frameFiles,
  frameName,
  isVideoPath,
  openFrameInput,
  openFrameOutput,
  workDirFor,
} from "../video/frame_files.ts";
import { stylizeFrames } from "../video/stylize_frames.ts";
import { assembleFrames, planChunks } from "../video/chunks.ts";
import { connectRedis } from "../queue/redis.ts";
import { batchId, queueFrames } from "./queued_frames.ts";

/** The temporal term's weight when neither a recipe nor a flag sets it. */
export const DEFAULT_TEMPORAL_WEIGHT = 30;

/** How many frames back the temporal cost looks by default. */
const DEFAULT_EARLIER = [1];

/** Frames per chunk when chunks go to workers. */
const DEFAULT_CHUNK_FRAMES = 12;
/** Warm-up frames before a chunk's first frame. */
const DEFAULT_CHUNK_OVERLAP = 4;

/** Image-command flags that mean nothing for a video. */
const IMAGE_ONLY = ["texture", "init-image", "content-mask", "save-every"];

/** The video command's flags: the image command's that apply, and its own. */
export const VIDEO_FLAGS: readonly Flag[] = [
  ...FLAGS.filter((f) => !IMAGE_ONLY.includes(f.name)),
  {
    name: "temporal-weight",
    lead: true,
    value: "W",
    section: "video",
    help: "weight of the temporal-consistency cost; 0 stylises every frame on its own " +
      "(--cost temporal=W)",
    shown: String(DEFAULT_TEMPORAL_WEIGHT),
    cost: { plugin: "temporal" },
  },
  {
    name: "temporal-frames",
    value: "J,J,…",
    section: "video",
    help: "how many frames back the temporal cost looks: 1 is the previous frame; 1,2,4 also " +
      "holds what the previous frame could not see to older frames (long-term consistency)",
    shown: DEFAULT_EARLIER.join(","),
  },
  {
    name: "fps",
    value: "X",
    section: "video",
    help: "frame rate of a video made from image frames (a video input keeps its own)",
    shown: "25",
  },
  {
    name: "chunk-frames",
    value: "N",
    section: "video",
    help: "frames per chunk: chunks run in parallel on workers, each starting its chain " +
      "anew after --chunk-overlap warm-up frames (0: one chunk)",
    shown: `0, or ${DEFAULT_CHUNK_FRAMES} with --redis`,
    spec: integerOption({ default: 0, min: 0, description: "frames per chunk" }),
  },
  {
    name: "chunk-overlap",
    value: "N",
    section: "video",
    help: "frames of the chunk before that a chunk makes first; the seam cross-fades " +
      "between the two over them",
    shown: String(DEFAULT_CHUNK_OVERLAP),
    spec: integerOption({
      default: DEFAULT_CHUNK_OVERLAP,
      min: 0,
      max: 100,
      description: "warm-up frames",
    }),
  },
  {
    name: "redis",
    value: "URL",
    section: "video",
    help: "queue the chunks on this Redis for workers (cli.ts worker --redis URL) instead of " +
      "running them here",
  },
  {
    name: "keep-frames",
    section: "video",
    help: "keep the work folder (the frames of a video output, the chunks' own frames) after " +
      "the output is written",
  },
];

const USAGE = [
  "  deno run -A cli.ts video IN.mp4 STYLE [STYLE…] -o OUT.mp4 [options]",
  "  deno run -A cli.ts video FRAMES/ STYLE -o OUT/        (folders of images)",
  "  deno run -A cli.ts video 'in/f_%04d.png' STYLE -o 'out/f_%04d.png'",
];

const EXAMPLES = [
  "  deno run -A cli.ts video clip.mp4 examples/van_gogh.jpg --size 384 -o clip_vg.mp4",
  "  deno run -A cli.ts video clip.mp4 examples/van_gogh.jpg --temporal-weight 0 -o flicker.mp4",
];

/** Runs the video command with `argv` (after `video`); returns the exit status. */
export function videoMain(argv: readonly string[]): Promise<number> {
  return runCommand((command) => videoCommand(argv, command));
}

async function videoCommand(argv: readonly string[], command: Command): Promise<number> {
  const { controller } = command;
  const started = performance.now();
  const args = parseCommandLine(argv, VIDEO_FLAGS);
  const { flags } = args;
  const pluginModules = (flags.plugin as string[] | undefined) ?? [];
  const registry = await pluginRegistry(
    pluginModules,
    VIDEO_PLUGINS,
  );
  if (flags.help) {
    console.log(helpText(VERSION, {
      plugins: registry,
      flags: VIDEO_FLAGS,
      usage: USAGE,
      examples: EXAMPLES,
    }));
    return 0;
  }
  const reporter = command.reporter = new ProgressReporter(progressMode(flags));

  const [input, ...stylePaths] = args.images;
  if (!input) throw new UsageError("give the input video (or frames) and a style image");
  const output = flags.output as string | undefined;
  if (!output) throw new UsageError("missing the output: add -o OUT.mp4 (or a folder)");
  const fps = flags.fps === undefined ? "25" : String(Number(flags.fps));
  if (!(Number(fps) > 0 && Number(fps) <= 1000)) {
    throw new UsageError(`--fps needs a frame rate above 0, got ${flags.fps}`);
  }

  const { recipe, uses } = await recipeFromFlags(flags, registry, {
    flags: VIDEO_FLAGS,
    fallback: {
      plugins: [...DEFAULT_PLUGINS, { plugin: "temporal", weight: DEFAULT_TEMPORAL_WEIGHT }],
    },
    reporter,
  });
  if (!uses.some((u) => u.plugin.name === "temporal")) {
    reporter.say("no temporal term: every frame is stylised on its own (it will flicker)");
  }
  if (uses.some((u) => u.plugin.spec.reference === "style") && !stylePaths.length) {
    throw new UsageError("give at least one style image after the input");
  }
  const masks = maskFiles(recipe.masks, {
    flags,
    recipePath: flags.recipe as string | undefined,
  });
  if (masks.content) throw new UsageError("a content mask is for one image, not a video");
  checkMaskCount(masks, stylePaths.length);

  const inputs: InputFile[] = [
    { label: "the input", path: input },
    ...stylePaths.map((path, i) => ({ label: `style image ${i + 1}`, path })),
    ...(flags.recipe ? [{ label: "the recipe", path: flags.recipe as string }] : []),
    ...pluginModules.map((path) => ({ label: "a plugin module", path })),
    ...listMaskFiles(masks),
  ];
  const guard = await InputGuard.of(inputs);
  await guard.check("-o", output);
  const saveRecipe = flags["save-recipe"] as string | undefined;
  if (saveRecipe) await guard.check("--save-recipe", saveRecipe);
  if (isVideoPath(input) || isVideoPath(output)) await checkFfmpeg();

  const maxPixels = numberFlag(flags, "max-pixels");
  const threads = flags.threads === undefined ? undefined : numberFlag(flags, "threads");
  const styles = await Promise.all(stylePaths.map((p) => readImage(p, { maxPixels })));
  const guidance = await readMasks(masks, { maxPixels });
  const workDir = workDirFor(output);
  const { version: _v, masks: _m, ...settings } = recipe;
  const redisUrl = flags.redis as string | undefined;
  const chunkFrames = numberFlag(flags, "chunk-frames", VIDEO_FLAGS) ||
    (redisUrl ? DEFAULT_CHUNK_FRAMES : 0);
  const overlap = numberFlag(flags, "chunk-overlap", VIDEO_FLAGS);
  const earlier = flags["temporal-frames"] === undefined
    ? DEFAULT_EARLIER
    : String(flags["temporal-frames"]).split(",").map((t) => Number(t.trim()));
  if (!earlier.length || earlier.some((j) => !Number.isInteger(j) || j < 1 || j > 1000)) {
    throw new UsageError(
      `--temporal-frames needs whole numbers of frames back, 1 to 1000, comma-separated ` +
        `(e.g. 1,2,4), got ${flags["temporal-frames"]}`,
    );
  }
  if (redisUrl) {
    if (pluginModules.length) {
      throw new UsageError(
        "--plugin modules are not sent to workers: put the plugin in the recipe's sources",
      );
    }
    if (listMaskFiles(masks).length) {
      throw new UsageError("masks are not sent to workers yet: run without --redis");
    }
    // Refused now rather than after the frames are decoded.
    (await connectRedis(redisUrl)).disconnect();
  }
  // Chunks change the frames (each chunk's chain starts anew): they belong to the run.
  const runRecord = {
    input: resolve(input),
    styles: stylePaths.map((p) => resolve(p)),
    recipe: settings,
    ...(chunkFrames ? { chunks: { frames: chunkFrames, overlap } } : {}),
    ...(earlier.join() === "1" ? {} : { earlier }),
  };
  const frames = await openFrameInput(input, {
    size: recipe.size,
    workDir,
    maxPixels,
    signal: controller.signal,
    onReadable: () => claimWorkDir(workDir, runRecord),
  });
  const chunks = planChunks(frames.count, chunkFrames, overlap);
  const sink = openFrameOutput(output, workDir, { quality: numberFlag(flags, "quality") });
  // With seams to blend, the chunks' own frames wait in the work folder.
  const blended = chunks.some((c) => c.warmup > 0);
  const chain = blended ? frameFiles((i) => join(workDir, "chain", frameName(i))) : sink.sink;
  const warmups = frameFiles((i) => join(workDir, "warmup", frameName(i)));
  controller.signal.throwIfAborted();

  const memory = describeMemory(recipe.maxMemory);
  const size = `${frames.width}×${frames.height}`;
  reporter.json({
    event: "start",
    version: VERSION,
    network: recipe.network,
    recipe,
    memory,
    frames: frames.count,
    width: frames.width,
    height: frames.height,
    chunks: chunks.length,
  });
  reporter.say(`video: ${frames.count} frames of ${input} at ${size} → ${output}`);
  const { plugins: _p, sources: _s, ...runSettings } = settings;
  const tally = { made: 0, skipped: 0, warnings: [] as string[] };
  if (redisUrl) {
    const redis = await connectRedis(redisUrl);
    try {
      reporter.say(
        `queued on ${redisUrl} in ${chunks.length} chunk(s); start workers with: ` +
          `deno run -A cli.ts worker --redis ${redisUrl}`,
      );
      await queueFrames(redis, {
        recipe,
        chunks,
        earlier,
        frames,
        styles: stylePaths,
        chain,
        warmups,
        batch: await batchId(runRecord),
      }, {
        signal: controller.signal,
        onProgress: (p) => {
          reporter.json({ event: "progress", ...p });
          reporter.say(`frames ${p.done}/${p.items}, chunks ${p.completed}/${p.jobs}`);
        },
      });
    } finally {
      redis.disconnect();
    }
    tally.made = frames.count;
  } else {
    const network = await openNetwork(
      recipe.network,
      uses,
      recipe.seed,
      reporter,
      controller.signal,
    );
    reporter.say(`memory budget: ${memory}`);
    // The ETA counts the frames made in this run only (skipped ones took no time).
    let madeSeconds = 0;
    let made = 0;
    let done = 0;
    const notices = new Set<string>();
    for (const range of chunks) {
      const result = await stylizeFrames({
        network,
        plugins: uses,
        styles,
        masks: guidance,
        settings: { ...runSettings, previewEvery: 0 },
        frames,
        outputs: chain,
        warmups,
        earlier,
        range,
      }, {
        signal: controller.signal,
        threads,
        memory: autoMemory(),
        collectGarbage,
        // Every frame's run says the same notices (the backend): once is enough.
        onNotice: (m) => {
          if (!notices.has(m)) reporter.say(m);
          notices.add(m);
        },
        onProgress: (e) => {
          if (e.type === "progress") {
            reporter.event(e.event);
            return;
          }
          if (e.status !== "skipped") {
            made++;
            madeSeconds += e.seconds;
          }
          if (e.status !== "warmup") done++;
          const eta = made ? (madeSeconds / made) * (frames.count - done) : NaN;
          reporter.json({
            event: "frame",
            frame: e.frame + 1,
            frames: frames.count,
            done,
            status: e.status,
            seconds: Math.round(e.seconds * 100) / 100,
            ...(Number.isFinite(eta) ? { eta: Math.round(eta) } : {}),
          });
          reporter.prefix(
            done < frames.count
              ? `frame ${done + 1}/${frames.count} (ETA ${formatDuration(eta)}) `
              : "",
          );
          if (e.status === "skipped") reporter.say(`frame ${e.frame + 1}: already done, kept`);
          else {
            reporter.say(
              `frame ${e.frame + 1}/${frames.count}${e.status === "warmup" ? " (warm-up)" : ""} ` +
                `done in ${formatDuration(e.seconds)}`,
            );
          }
        },
      });
      tally.made += result.made;
      tally.skipped += result.skipped;
      tally.warnings.push(...result.warnings);
    }
  }
  if (blended) {
    reporter.say(`blending the ${chunks.length - 1} chunk seam(s)`);
    await assembleFrames(chunks, { chain, warmups, final: sink.sink }, {
      signal: controller.signal,
    });
  }
  controller.signal.throwIfAborted();
  reporter.finish();

  if (isVideoPath(output)) {
    reporter.say(`encoding ${output}`);
    await guard.check("-o", output);
    await encodeVideo(sink.dir!, output, {
      fps: frames.fps ?? fps,
      audioFrom: frames.audioFrom,
      signal: controller.signal,
    });
    if (!flags["keep-frames"]) await rm(workDir, { recursive: true, force: true });
  } else if (!flags["keep-frames"]) {
    // The frames are out: the chunks' own frames are done with.
    for (const folder of ["chain", "warmup"]) {
      await rm(join(workDir, folder), { recursive: true, force: true });
    }
  }
  if (saveRecipe) {
    const { masks: _given, ...rest } = recipe;
    const saved = {
      ...rest,
      ...(listMaskFiles(masks).length ? { masks: recipeMaskPaths(masks, saveRecipe) } : {}),
    };
    await writeFileAtomic(
      saveRecipe,
      new TextEncoder().encode(JSON.stringify(saved, null, 2) + "\n"),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  reporter.json({
    event: "done",
    output,
    frames: frames.count,
    made: tally.made,
    skipped: tally.skipped,
    width: frames.width,
    height: frames.height,
    seconds: Math.round(seconds * 100) / 100,
    warnings: tally.warnings,
  });
  reporter.say(
    `wrote ${output} (${frames.count} frames, ${size}; ${tally.made} made, ` +
      `${tally.skipped} kept) in ${formatDuration(seconds)}`,
  );
  return 0;
}
