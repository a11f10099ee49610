/**
 * What the comparison suites share: running a child process while timing
 * each line it prints and measuring its peak resident memory, medians, and
 * plain-text tables.
 *
 * @module
 */

/** A line a child printed on stdout, with when it arrived. */
export interface TimedLine {
  /** Milliseconds since the child was spawned. */
  ms: number;
  /** The line, without its newline. */
  text: string;
}

/** What a finished child did. */
export interface ChildRun {
  /** Exit status. */
  code: number;
  /** Stdout lines with arrival times. */
  lines: TimedLine[];
  /** The last lines of stderr. */
  stderr: string;
  /** Wall milliseconds from spawn to exit. */
  wallMs: number;
  /** Peak resident set size in MB (when asked for and measurable). */
  peakRssMb?: number;
  /** True when the child was killed for running past `timeoutMs`. */
  timedOut: boolean;
}

/** Options of {@linkcode runChild}. */
export interface RunChildOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** Measure the peak RSS (with /usr/bin/time, else by polling /proc's VmHWM). */
  peakRss?: boolean;
  /**
   * Kill the child after this many milliseconds (default 15 minutes), so a
   * hung child cannot stall the suite.
   */
  timeoutMs?: number;
}

/** The repository root. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

const TIME = "/usr/bin/time";
const hasTime = Deno.stat(TIME).then(() => true, () => false);

/** VmHWM of a live process in kB (its peak RSS so far), or 0. */
async function highWater(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) : 0;
}

/**
 * Runs `cmd args` to completion, timestamping each stdout line as it comes
 * (children must flush per line, as `cli.ts --json` and the reference do).
 */
export async function runChild(
  cmd: string,
  args: readonly string[],
  options: RunChildOptions = {},
): Promise<ChildRun> {
  // GNU time reports the child's peak RSS (ru_maxrss) exactly; polling can miss a short peak.
  const wrap = options.peakRss && await hasTime;
  const rssFile = wrap ? await Deno.makeTempFile({ prefix: "stylegram-rss-" }) : undefined;
  const started = performance.now();
  const child = new Deno.Command(wrap ? TIME : cmd, {
    args: wrap ? ["-f", "%M", "-o", rssFile!, cmd, ...args] : [...args],
    cwd: options.cwd ?? ROOT,
    // Plain text: failure() quotes the child's error lines.
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let polled = 0;
  const poller = options.peakRss && !wrap
    ? setInterval(async () => polled = Math.max(polled, await highWater(child.pid)), 50)
    : undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 15 * 60_000);
  const lines: TimedLine[] = [];
  const readOut = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const ms = performance.now() - started;
      buffer += chunk;
      let at: number;
      while ((at = buffer.indexOf("\n")) >= 0) {
        lines.push({ ms, text: buffer.slice(0, at) });
        buffer = buffer.slice(at + 1);
      }
    }
    if (buffer) lines.push({ ms: performance.now() - started, text: buffer });
  })();
  const readErr = new Response(child.stderr).text();
  const [status, , stderr] = await Promise.all([child.status, readOut, readErr]);
  const wallMs = performance.now() - started;
  if (poller !== undefined) clearInterval(poller);
  clearTimeout(timer);
  let peakRssMb: number | undefined;
  if (rssFile) {
    const kb = Number((await Deno.readTextFile(rssFile)).trim().split("\n").pop());
    await Deno.remove(rssFile).catch(() => {});
    if (Number.isFinite(kb) && kb > 0) peakRssMb = kb / 1024;
  } else if (polled > 0) peakRssMb = polled / 1024;
  return {
    code: status.code,
    lines,
    stderr: stderr.trim().split("\n").slice(-20).join("\n"),
    wallMs,
    peakRssMb,
    timedOut,
  };
}

/** The JSON objects among a run's stdout lines, with their arrival times. */
export function jsonLines(run: ChildRun): { ms: number; event: Record<string, unknown> }[] {
  return run.lines.flatMap((l) => {
    try {
      return [{ ms: l.ms, event: JSON.parse(l.text) }];
    } catch {
      return [];
    }
  });
}

/** Why a run failed, in one line. */
export function failure(run: ChildRun): string {
  if (run.timedOut) return `timed out after ${Math.round(run.wallMs / 1000)} s (killed)`;
  // An uncaught error's message line comes before its stack.
  const lines = run.stderr.split("\n").filter(Boolean);
  return lines.findLast((l) => /stylegram:|reference:/.test(l)) ??
    lines.find((l) => /Error\b/.test(l))?.trim() ?? lines.pop() ?? `exit status ${run.code}`;
}

/** The median (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Prints a table: a header row, a rule, and rows, columns padded (numbers right-aligned). */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const right = header.map((_, i) => rows.every((r) => /^[-+×~<>≤≥.\d%\s]*$/.test(r[i] ?? "")));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])).join("  ")
      .trimEnd();
  console.log(line(header));
  console.log("-".repeat(widths.reduce((a, b) => a + b + 2, -2)));
  for (const r of rows) console.log(line(r));
}

/** A number with `digits` decimals, or "–" when it is not finite. */
export function fixed(v: number | undefined, digits = 0): string {
  return v !== undefined && Number.isFinite(v) ? v.toFixed(digits) : "–";
}

/** A timestamp for result file names. */
export function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

/** The folder results are written to (git-ignored). */
export const RESULTS_DIR: string = new URL("./results/", import.meta.url).pathname;
