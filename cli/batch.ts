/**
 * `deno run -A cli.ts batch IMAGE… --style STYLE -o DIR`: stylises many
 * images (files or folders of them) with the same styles and recipe, one
 * output `DIR/NAME.png` per image. Images already done are kept, so a run
 * that stops resumes. With `--redis URL` every image is a job on the queue
 * for workers (`cli.ts worker`); without it they run here, one by one.
 *
 * @module
 */

import { readFile, stat } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { stylize } from "../mod.ts";
import { decodeImage, readImage, writeFileAtomic, writeImage } from "../io.ts";
import { type Flag, FLAGS, helpText, numberFlag, parseCommandLine, UsageError } from "./args.ts";
import { type Command, runCommand } from "./command.ts";
import { openNetwork, pluginRegistry, recipeFromFlags } from "./job_setup.ts";
import { type InputFile, InputGuard } from "./input_guard.ts";
import { autoMemory, collectGarbage } from "./memory.ts";
import { formatDuration, progressMode, ProgressReporter } from "./progress.ts";
import { VERSION } from "./version.ts";
import { batchId } from "./queued_frames.ts";
import type { ImageJob } from "../queue/jobs.ts";
import { runBatch } from "../queue/producer.ts";
import { imageFilesIn } from "../video/frame_files.ts";
import { connectRedis } from "../queue/redis.ts";

/** The flags of the image command that mean nothing for a batch. */
const NOT_FOR_BATCH = [
  "texture",
  "init-image",
  "content-mask",
  "style-mask",
  "style-source-mask",
  "save-every",
];

/** The batch command's flags. */
export const BATCH_FLAGS: readonly Flag[] = [
  ...FLAGS.filter((f) => !NOT_FOR_BATCH.includes(f.name)),
  {
    name: "style",
    value: "FILE",
    multiple: true,
    lead: true,
    section: "output",
    help: "a style image (repeat for several; --style-blend weights them)",
  },
  {
    name: "redis",
    value: "URL",
    section: "run",
    help: "queue one job per image on this Redis for workers (cli.ts worker --redis URL)",
  },
];

/** The image files named: files as given, folders by their image files in name order. */
async function contentFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new UsageError(`${path}: no such file or folder`);
    }
    if (!info.isDirectory()) {
      files.push(path);
      continue;
    }
    const inside = await imageFilesIn(path);
    if (!inside.length) throw new UsageError(`${path}: the folder holds no image files`);
    files.push(...inside);
  }
  return files;
}

/** Runs the batch command with `argv` (after `batch`); returns the exit status. */
export function batchMain(argv: readonly string[]): Promise<number> {
  return runCommand((command) => batchCommand(argv, command));
}

async function batchCommand(argv: readonly string[], command: Command): Promise<number> {
  const { controller } = command;
  const started = performance.now();
  const { images, flags } = parseCommandLine(argv, BATCH_FLAGS);
  const pluginModules = (flags.plugin as string[] | undefined) ?? [];
  const registry = await pluginRegistry(pluginModules);
  if (flags.help) {
    console.log(helpText(VERSION, {
      plugins: registry,
      flags: BATCH_FLAGS,
      usage: [
        "  deno run -A cli.ts batch IMAGE|FOLDER … --style STYLE -o DIR [options]",
        "  deno run -A cli.ts batch photos/ --style wave.jpg -o out/ --redis redis://HOST:6379",
      ],
      examples: [
        "  deno run -A cli.ts batch examples/cat.jpg examples/astronaut.jpg " +
        "--style examples/van_gogh.jpg -o styled/",
      ],
    }));
    return 0;
  }
  const reporter = command.reporter = new ProgressReporter(progressMode(flags));
  const outDir = flags.output as string | undefined;
  if (!outDir) throw new UsageError("missing the output folder: add -o DIR");
  if (!images.length) throw new UsageError("give the images to stylise (files or folders)");
  const stylePaths = (flags.style as string[] | undefined) ?? [];
  const redisUrl = flags.redis as string | undefined;
  if (redisUrl && pluginModules.length) {
    throw new UsageError(
      "--plugin modules are not sent to workers: put the plugin in the recipe's sources",
    );
  }
  const { recipe, uses } = await recipeFromFlags(flags, registry, {
    flags: BATCH_FLAGS,
    reporter,
  });
  if (uses.some((u) => u.plugin.spec.reference === "style") && !stylePaths.length) {
    throw new UsageError("give a style image with --style FILE");
  }
  const files = await contentFiles(images);
  const outputs = files.map((f) => join(outDir, `${basename(f, extname(f))}.png`));
  const seen = new Map<string, string>();
  outputs.forEach((o, i) => {
    if (seen.has(o)) {
      throw new UsageError(`${seen.get(o)} and ${files[i]} would both be written to ${o}`);
    }
    seen.set(o, files[i]);
  });
  const inputs: InputFile[] = [
    ...files.map((path, i) => ({ label: `image ${i + 1}`, path })),
    ...stylePaths.map((path, i) => ({ label: `style image ${i + 1}`, path })),
    ...(flags.recipe ? [{ label: "the recipe", path: flags.recipe as string }] : []),
  ];
  const guard = await InputGuard.of(inputs);
  for (const o of outputs) await guard.check("-o", o);
  const maxPixels = numberFlag(flags, "max-pixels");
  const threads = flags.threads === undefined ? undefined : numberFlag(flags, "threads");
  const styles = await Promise.all(stylePaths.map((p) => readImage(p, { maxPixels })));
  await Deno.mkdir(outDir, { recursive: true });
  const exists = (p: string) => stat(p).then(() => true, () => false);
  const { version: _v, masks: _m, plugins: _p, sources: _s, ...settings } = recipe;
  reporter.json({ event: "start", version: VERSION, images: files.length, recipe });
  reporter.say(`batch: ${files.length} image(s) → ${outDir}`);
  let made = 0;
  let kept = 0;

  if (redisUrl) {
    const redis = await connectRedis(redisUrl);
    try {
      const batch = await batchId({
        images: files.map((f) => resolve(f)),
        styles: stylePaths.map((p) => resolve(p)),
        recipe,
      });
      const jobs: ImageJob[] = files.map((f, index) => ({
        kind: "image",
        batch,
        index,
        name: basename(f),
        recipe: recipe as unknown as Record<string, unknown>,
        styles: stylePaths.length,
      }));
      reporter.say(
        `queued on ${redisUrl}; start workers with: ` +
          `deno run -A cli.ts worker --redis ${redisUrl}`,
      );
      await runBatch(redis, {
        batch,
        jobs,
        items: () => 1,
        collected: (job) => exists(outputs[(job as ImageJob).index]),
        upload: async (blobs) => {
          for (const [k, path] of stylePaths.entries()) {
            await blobs.set(`style:${k}`, await readFile(path));
          }
          for (const [i, path] of files.entries()) {
            // Checked here, so a file that does not decode fails before it is queued.
            await readImage(path, { maxPixels });
            if (!(await blobs.has(`in:${i}`))) await blobs.set(`in:${i}`, await readFile(path));
          }
        },
        collect: async (job, blobs) => {
          const i = (job as ImageJob).index;
          const bytes = await blobs.get(`out:${i}`);
          if (!bytes) throw new Error(`${files[i]}: its output is missing in Redis`);
          await decodeImage(bytes, files[i]);
          await writeFileAtomic(outputs[i], bytes);
          made++;
          reporter.json({ event: "image", image: i + 1, output: outputs[i] });
        },
      }, {
        signal: controller.signal,
        onProgress: (p) => {
          reporter.json({ event: "progress", ...p });
          reporter.say(`images ${p.completed}/${p.jobs}`);
        },
      });
    } finally {
      redis.disconnect();
    }
  } else {
    const network = await openNetwork(
      recipe.network,
      uses,
      recipe.seed,
      reporter,
      controller.signal,
    );
    for (const [i, path] of files.entries()) {
      controller.signal.throwIfAborted();
      if (await exists(outputs[i])) {
        kept++;
        reporter.json({ event: "image", image: i + 1, output: outputs[i], status: "kept" });
        continue;
      }
      reporter.prefix(`image ${i + 1}/${files.length} `);
      const content = await readImage(path, { maxPixels });
      const result = await stylize({ network, plugins: uses, content, styles, settings }, {
        signal: controller.signal,
        threads,
        memory: autoMemory(),
        collectGarbage,
        onProgress: (e) => reporter.event(e),
      });
      await writeImage(result.image, outputs[i]);
      made++;
      reporter.json({ event: "image", image: i + 1, output: outputs[i], status: "made" });
      reporter.say(`wrote ${outputs[i]}`);
    }
  }
  reporter.finish();
  const seconds = (performance.now() - started) / 1000;
  reporter.json({ event: "done", output: outDir, made, kept, seconds });
  reporter.say(`batch done: ${made} made, ${kept} kept, in ${formatDuration(seconds)}`);
  return 0;
}
