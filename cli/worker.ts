/**
 * `deno run -A cli.ts worker --redis URL`: takes jobs (images of a batch,
 * chunks of a video's frames) from the BullMQ queue on Redis and does them,
 * one at a time, until Ctrl-C or SIGTERM (the job in hand is finished
 * first; a second signal stops at once, and another worker takes the job
 * over). Start any number, on any machine that reaches Redis.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Worker } from "bullmq";
import { parseRecipe, type Plugin } from "../mod.ts";
import type { FeatureNetwork } from "../core/network/feature_network.ts";
import { parseSources } from "../core/plugin_module.ts";
import { UsageError } from "./args.ts";
import { runCommand } from "./command.ts";
import { openNetwork, VIDEO_PLUGINS } from "./job_setup.ts";
import { addSourcePlugins } from "./plugin_sources.ts";
import { ProgressReporter } from "./progress.ts";
import { autoMemory, collectGarbage } from "./memory.ts";
import { type JobData, QUEUE_NAME, runJob } from "../queue/jobs.ts";
import { redisBlobs } from "../queue/blobs.ts";
import { connectRedis } from "../queue/redis.ts";
import { VERSION } from "./version.ts";

const HELP = `stylegram ${VERSION} worker: does the jobs of batches and videos queued on Redis

Usage:
  deno run -A cli.ts worker --redis redis://HOST:6379 [options]

Options:
  --redis URL         the Redis server of the queue (required)
  --threads N         CPU threads for wasm and native [default: all cores]
  --lock-seconds S    how long a job stays this worker's without a sign of life; another
                      worker takes over a job of a worker that died after this [default: 30]
  --once              stop after one job (for scripts and tests)
  -h, --help          show this help

Queue work with: cli.ts video IN STYLE -o OUT --redis URL, or cli.ts batch … --redis URL`;

/** Runs the worker command with `argv` (after `worker`); returns the exit status. */
export function workerMain(argv: readonly string[]): Promise<number> {
  return runCommand(async ({ controller }) => {
    let values;
    try {
      values = parseArgs({
        args: [...argv],
        options: {
          redis: { type: "string" },
          threads: { type: "string" },
          "lock-seconds": { type: "string" },
          once: { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
      }).values;
    } catch (e) {
      throw new UsageError((e as Error).message.split("\n")[0]);
    }
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!values.redis) throw new UsageError("worker needs --redis URL (the queue's Redis server)");
    const threads = values.threads === undefined ? undefined : Number(values.threads);
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
      throw new UsageError(`--threads needs a whole number ≥ 1, got ${values.threads}`);
    }
    const lock = Number(values["lock-seconds"] ?? 30);
    if (!(lock >= 1 && lock <= 3600)) {
      throw new UsageError(`--lock-seconds needs 1 to 3600 seconds, got ${values["lock-seconds"]}`);
    }
    const redis = await connectRedis(values.redis);
    const reporter = new ProgressReporter("lines");
    const networks = new Map<string, FeatureNetwork>();
    const say = (m: string) => console.error(`worker: ${m}`);

    const worker = new Worker<JobData>(QUEUE_NAME, async (job, _token, signal) => {
      const data = job.data;
      const what = data.kind === "image"
        ? `image ${data.name}`
        : `frames ${data.from + 1}–${data.to} of ${data.count}`;
      say(`job ${job.id}: ${what} (try ${job.attemptsMade + 1})`);
      const started = performance.now();
      await runJob(data, {
        blobs: redisBlobs(redis, data.batch),
        parse: (json) => {
          const registry = new Map<string, Plugin>(VIDEO_PLUGINS);
          const sources = parseSources(json.sources);
          if (sources) addSourcePlugins(sources, registry, { onNotice: say });
          const { recipe, uses } = parseRecipe(json, registry);
          const { version: _v, plugins: _p, masks: _m, sources: _s, ...settings } = recipe;
          return { uses, settings };
        },
        network: async (name, uses, seed) => {
          const key = `${name}|${seed}|${uses.map((u) => JSON.stringify(u.toJSON())).join()}`;
          let network = networks.get(key);
          if (!network) {
            network = await openNetwork(name, uses, seed, reporter, controller.signal);
            networks.set(key, network);
          }
          return network;
        },
        threads,
        memory: autoMemory(),
        collectGarbage,
        signal,
        onProgress: (done, total) => void job.updateProgress({ done, total }),
      });
      say(`job ${job.id}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }, {
      connection: redis,
      concurrency: 1,
      lockDuration: lock * 1000,
      stalledInterval: lock * 1000,
      maxStalledCount: 3,
      autorun: false,
    });
    worker.on("failed", (job, e) => say(`job ${job?.id}: failed: ${e.message.split("\n")[0]}`));
    if (values.once) {
      worker.on("completed", () => void worker.close());
      worker.on("failed", () => void worker.close());
    }
    // The first signal lets the job in hand finish; a second one stops at once
    // (the job's lock runs out and another worker takes it over).
    let signals = 0;
    const stop = () => {
      if (++signals > 1) Deno.exit(130);
      say("stopping after the job in hand (signal again to stop now)");
      void worker.close();
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
    say(`waiting for jobs on ${values.redis} (queue ${QUEUE_NAME})`);
    try {
      await worker.run();
    } finally {
      Deno.removeSignalListener("SIGTERM", stop);
      Deno.removeSignalListener("SIGINT", stop);
      await worker.close();
      redis.disconnect();
    }
    say("stopped");
    return 0;
  });
}
