/**
 * What every command of the CLI shares: Ctrl-C cancels the run, and every
 * failure becomes one line on stderr (and an `error` event with `--json`)
 * and an exit status: 2 for usage mistakes, 130 when interrupted, 1 else.
 *
 * @module
 */

import { UsageError } from "./args.ts";
import { ProgressReporter } from "./progress.ts";
import { ensureRuntimeDir } from "../io.ts";

/** Thrown when the user interrupts (Ctrl-C). */
class Interrupted extends Error {
  constructor() {
    super("interrupted; no output was written");
    this.name = "Interrupted";
  }
}

/** What a command's body gets. */
export interface Command {
  /** Aborted by Ctrl-C, or by the body itself (a failed save). */
  readonly controller: AbortController;
  /** Progress output; the body replaces it once the flags say which mode. */
  reporter: ProgressReporter;
}

/**
 * Runs a command's body with cancellation and one-line errors; returns the
 * exit status.
 */
export async function runCommand(body: (command: Command) => Promise<number>): Promise<number> {
  ensureRuntimeDir();
  const command: Command = {
    controller: new AbortController(),
    reporter: new ProgressReporter("quiet"),
  };
  const { controller } = command;
  const onSigint = () => controller.abort(new Interrupted());
  try {
    Deno.addSignalListener("SIGINT", onSigint);
  } catch {
    // signals unsupported here (e.g. Windows without a console)
  }
  try {
    return await body(command);
  } catch (caught) {
    const reporter = command.reporter;
    reporter.finish();
    // An abort for a failed save reports the failure, not an interruption.
    const reason = controller.signal.reason;
    const e = controller.signal.aborted && !(reason instanceof Interrupted) ? reason : caught;
    const interrupted = e instanceof Interrupted || (controller.signal.aborted && e === caught);
    const message = interrupted
      ? "interrupted; no output was written"
      : (e instanceof Error ? e.message : String(e)).split("\n")[0];
    reporter.json({ event: "error", message });
    const hint = e instanceof UsageError ? " (see --help)" : "";
    console.error(`stylegram: ${message}${hint}`);
    if (Deno.env.get("STYLEGRAM_DEBUG") && e instanceof Error) console.error(e.stack);
    return interrupted ? 130 : e instanceof UsageError ? 2 : 1;
  } finally {
    try {
      Deno.removeSignalListener("SIGINT", onSigint);
    } catch {
      // nothing to remove
    }
  }
}
