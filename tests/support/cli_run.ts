/**
 * Runs `cli.ts` as a user would, in its own process, and collects what it
 * printed; optionally interrupts it (SIGINT, as Ctrl-C) once its stdout
 * matches a pattern.
 *
 * @module
 */

const root = new URL("../../", import.meta.url).pathname;

/** What a finished run printed, and its exit status. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode runCli}. */
export interface RunCliOptions {
  /** Working directory. */
  cwd: string;
  /** Send SIGINT once stdout matches this. */
  signalAfter?: RegExp;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** Runs `deno run -A cli.ts ARGS`. */
export async function runCli(args: readonly string[], options: RunCliOptions): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}cli.ts`, ...args],
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  const decoder = new TextDecoder();
  let stdout = "";
  let signalAfter = options.signalAfter;
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      stdout += decoder.decode(chunk);
      if (signalAfter?.test(stdout)) {
        child.kill("SIGINT");
        signalAfter = undefined;
      }
    }
  })();
  const stderr = new Response(child.stderr).text();
  const status = await child.status;
  await reading;
  return { code: status.code, stdout, stderr: await stderr };
}

/** The lines stylegram itself wrote to stderr (not Deno's own download notes). */
export const ownLines = (stderr: string): string[] =>
  stderr.split("\n").filter((l) => l.startsWith("stylegram:"));
