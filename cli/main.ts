/**
 * The command-line program: arguments → recipe → images and network →
 * stylize → output file (`video …` runs the video command, `cli/video.ts`).
 * Every failure becomes one line on stderr and a non-zero exit status (2 for
 * usage mistakes, 130 when interrupted); the output file is written
 * atomically, so it is complete or absent.
 *
 * @module
 */

import { autoMemory, collectGarbage, describeMemory } from "./memory.ts";
import { basename, dirname, join } from "node:path";
import { type RgbImage, stylize } from "../mod.ts";
import { checkWritable, formatOf, readImage, writeFileAtomic, writeImage } from "../io.ts";
import { helpText, numberFlag, parseCommandLine, UsageError } from "./args.ts";
import { type InputFile, InputGuard } from "./input_guard.ts";
import { checkMaskCount, listMaskFiles, maskFiles, readMasks, recipeMaskPaths } from "./masks.ts";
import { formatCost, formatDuration, progressMode, ProgressReporter } from "./progress.ts";
import { type Command, runCommand } from "./command.ts";
import { openNetwork, pluginRegistry, recipeFromFlags } from "./job_setup.ts";
import { videoMain } from "./video.ts";
import { workerMain } from "./worker.ts";
import { batchMain } from "./batch.ts";
import { VERSION } from "./version.ts";

function numbered(output: string, scale: number, iteration: number): string {
  const dot = output.lastIndexOf(".");
  return `${output.slice(0, dot)}_s${scale}_${String(iteration).padStart(4, "0")}${
    output.slice(dot)
  }`;
}

/** Files already beside `output` with the names `--save-every` would write. */
async function numberedFiles(output: string): Promise<string[]> {
  const dot = output.lastIndexOf(".");
  const stem = basename(output.slice(0, dot));
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^${escape(stem)}_s\\d+_\\d{4,}${escape(output.slice(dot))}$`);
  const found: string[] = [];
  for await (const entry of Deno.readDir(dirname(output))) {
    if (pattern.test(entry.name)) found.push(join(dirname(output), entry.name));
  }
  return found;
}

/** Runs the CLI with `argv`; returns the exit status. */
export function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === "video") return videoMain(argv.slice(1));
  if (argv[0] === "worker") return workerMain(argv.slice(1));
  if (argv[0] === "batch") return batchMain(argv.slice(1));
  return runCommand((command) => imageCommand(argv, command));
}

/** The image job: content and style images in, one stylised image out. */
async function imageCommand(argv: readonly string[], command: Command): Promise<number> {
  const { controller } = command;
  const started = performance.now();
  const args = parseCommandLine(argv);
  const { flags } = args;
  const pluginModules = (flags.plugin as string[] | undefined) ?? [];
  const registry = await pluginRegistry(pluginModules);
  if (flags.help) {
    console.log(helpText(VERSION, { plugins: registry }));
    return 0;
  }
  if (flags.version) {
    console.log(`stylegram ${VERSION}`);
    return 0;
  }
  const reporter = command.reporter = new ProgressReporter(progressMode(flags));

  const output = flags.output as string | undefined;
  if (!output) throw new UsageError("missing the output file: add -o OUT.png");
  formatOf(output);
  await checkWritable(output); // before the long run, not after it
  const saveEvery = numberFlag(flags, "save-every");
  const quality = numberFlag(flags, "quality");
  const maxPixels = numberFlag(flags, "max-pixels");
  // Without the flag, the backend takes every core.
  const threads = flags.threads === undefined ? undefined : numberFlag(flags, "threads");

  const { recipe, uses } = await recipeFromFlags(flags, registry, { reporter });

  const texture = Boolean(flags.texture);
  const needsContent = uses.some((u) => u.plugin.spec.reference === "content");
  const needsStyle = uses.some((u) => u.plugin.spec.reference === "style");
  const contentPath: string | undefined = texture ? undefined : args.images[0];
  const stylePaths = texture ? args.images : args.images.slice(1);
  if (!texture && !contentPath) {
    throw new UsageError(
      "give a content image and at least one style image (or --texture STYLE)",
    );
  }
  if (needsStyle && stylePaths.length === 0) {
    throw new UsageError(
      texture
        ? "--texture needs at least one style image"
        : "give at least one style image after the content image",
    );
  }
  if (needsContent && !contentPath) {
    throw new UsageError("the recipe's content cost needs a content image");
  }
  if (recipe.init === "image" && !flags["init-image"]) {
    throw new UsageError("--init image needs --init-image FILE");
  }
  const masks = maskFiles(recipe.masks, {
    flags,
    recipePath: flags.recipe as string | undefined,
  });
  checkMaskCount(masks, stylePaths.length);

  // Nothing the run writes may land on what it reads.
  const inputs: InputFile[] = [
    ...(contentPath ? [{ label: "the content image", path: contentPath }] : []),
    ...stylePaths.map((path, i) => ({ label: `style image ${i + 1}`, path })),
    ...(flags["init-image"]
      ? [{ label: "the init image", path: flags["init-image"] as string }]
      : []),
    ...(flags.recipe ? [{ label: "the recipe", path: flags.recipe as string }] : []),
    ...pluginModules.map((path) => ({ label: "a plugin module", path })),
    ...listMaskFiles(masks),
  ];
  const guard = await InputGuard.of(inputs);
  await guard.check("-o", output);
  if (flags["save-recipe"]) await guard.check("--save-recipe", flags["save-recipe"] as string);
  if (saveEvery > 0) {
    for (const path of await numberedFiles(output)) await guard.check("--save-every", path);
  }

  const decode = { maxPixels };
  const content: RgbImage | undefined = contentPath
    ? await readImage(contentPath, decode)
    : undefined;
  const styles = await Promise.all(stylePaths.map((p) => readImage(p, decode)));
  const initImage = flags["init-image"]
    ? await readImage(flags["init-image"] as string, decode)
    : undefined;
  const guidance = await readMasks(masks, decode);
  controller.signal.throwIfAborted();

  const network = await openNetwork(
    recipe.network,
    uses,
    recipe.seed,
    reporter,
    controller.signal,
  );
  const memory = describeMemory(recipe.maxMemory);
  reporter.json({ event: "start", version: VERSION, network: network.name, recipe, memory });
  reporter.say(`memory budget: ${memory}`);
  const saving: Promise<void>[] = [];
  const { version: _version, plugins: _plugins, masks: _masks, sources: _sources, ...settings } =
    recipe;
  const result = await stylize(
    {
      network,
      plugins: uses,
      content,
      styles,
      initImage,
      masks: guidance,
      settings: { ...settings, previewEvery: saveEvery },
    },
    {
      signal: controller.signal,
      threads,
      memory: autoMemory(),
      collectGarbage,
      onNotice: (m) => reporter.say(m),
      onProgress: (e) => {
        reporter.event(e);
        if (e.type === "preview" && saveEvery > 0 && e.iteration % saveEvery === 0) {
          const path = numbered(output, e.scale, e.iteration);
          saving.push(
            guard.check("--save-every", path)
              .then(() => writeImage(e.image, path, { quality }))
              .then(() => reporter.json({ event: "saved", path }))
              // A failed save stops the run, with the save's own message.
              .catch((error) => controller.abort(error)),
          );
        }
      },
    },
  );
  await Promise.all(saving);
  controller.signal.throwIfAborted();
  reporter.finish();
  await guard.check("-o", output);
  await writeImage(result.image, output, { quality });
  if (flags["save-recipe"]) {
    const path = flags["save-recipe"] as string;
    const { masks: _given, ...rest } = recipe;
    const saved = {
      ...rest,
      ...(listMaskFiles(masks).length ? { masks: recipeMaskPaths(masks, path) } : {}),
    };
    await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(saved, null, 2) + "\n"));
  }
  const seconds = (performance.now() - started) / 1000;
  reporter.json({
    event: "done",
    output,
    width: result.image.width,
    height: result.image.height,
    seconds: Math.round(seconds * 100) / 100,
    iterations: result.iterations,
    evaluations: result.evaluations,
    backend: result.backend,
    device: result.device,
    network: network.name,
    startTotal: result.startTotal,
    total: result.total,
    terms: result.terms,
    warnings: result.warnings,
  });
  reporter.say(
    `wrote ${output} (${result.image.width}×${result.image.height}) in ${
      formatDuration(seconds)
    }: ` +
      `${result.iterations} iterations on ${result.backend}, total cost ${
        formatCost(result.startTotal)
      } → ` +
      `${formatCost(result.total)}`,
  );
  return 0;
}
