/**
 * Progress output for the CLI: a one-line progress bar redrawn in place on a
 * terminal, plain lines when stderr is not a terminal, JSON lines on stdout
 * with `--json`, nothing with `--quiet`.
 *
 * @module
 */

import type { ProgressEvent } from "../mod.ts";

/** How progress is shown. */
export type ProgressMode = "bar" | "lines" | "json" | "quiet";

const encoder = new TextEncoder();

/** The mode the flags ask for: `--json`, `--quiet`, else a bar on a terminal and lines elsewhere. */
export function progressMode(flags: Record<string, unknown>): ProgressMode {
  if (flags.json) return "json";
  if (flags.quiet) return "quiet";
  return Deno.stderr.isTerminal() ? "bar" : "lines";
}

/** Seconds as `1m07s` / `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** A number in 3 significant digits, exponent form when large or small. */
export function formatCost(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-2 ? v.toExponential(2) : v.toPrecision(3);
}

/** Writes progress events in one of the modes. */
export class ProgressReporter {
  readonly #mode: ProgressMode;
  readonly #width: number;
  #drawn = false;
  #recent: number[] = [];
  #lastLine = 0;
  #prefix = "";

  /** `mode` as chosen by the flags; the bar's width follows the terminal. */
  constructor(mode: ProgressMode) {
    this.#mode = mode;
    let columns = 100;
    try {
      columns = Deno.consoleSize().columns;
    } catch {
      // not a terminal
    }
    this.#width = Math.max(40, Math.min(columns, 160));
  }

  /** Writes one JSON object as a line on stdout (in json mode). */
  json(object: Record<string, unknown>): void {
    if (this.#mode === "json") Deno.stdout.writeSync(encoder.encode(JSON.stringify(object) + "\n"));
  }

  /** A message for humans on stderr (not in json or quiet mode). */
  say(message: string): void {
    if (this.#mode === "json" || this.#mode === "quiet") return;
    this.#clear();
    Deno.stderr.writeSync(encoder.encode(message + "\n"));
  }

  /** Text put before every progress line (a video's "frame 3/12 (ETA 1m20s) "). */
  prefix(text: string): void {
    this.#prefix = text;
  }

  /** Handles one event from the driver. */
  event(e: ProgressEvent): void {
    switch (e.type) {
      case "scale":
        this.#recent = [];
        this.json({
          event: "scale",
          scale: e.scale,
          scales: e.scales,
          width: e.width,
          height: e.height,
        });
        this.say(`scale ${e.scale}/${e.scales}: ${e.width}×${e.height}`);
        break;
      case "warning":
        this.json({ event: "warning", message: e.message });
        this.say(`warning: ${e.message}`);
        break;
      case "preview":
        break;
      case "tile": {
        this.json({
          event: "tile",
          scale: e.scale,
          pass: e.pass,
          done: e.done,
          windows: e.windows,
          region: e.region,
        });
        const line = `${this.#prefix}scale ${e.scale}/${e.scales} tile ${e.done}/${e.windows} ` +
          (e.pass === 1 ? "(statistics)" : "(gradient)");
        if (this.#mode === "bar") {
          Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line.slice(0, this.#width - 1)}`));
          this.#drawn = true;
        } else if (this.#mode === "lines" && performance.now() - this.#lastLine > 5000) {
          this.#lastLine = performance.now();
          Deno.stderr.writeSync(encoder.encode(`${line}\n`));
        }
        break;
      }
      case "iteration": {
        this.#recent.push(e.msPerIteration);
        if (this.#recent.length > 20) this.#recent.shift();
        const ms = this.#recent.reduce((a, b) => a + b, 0) / this.#recent.length;
        this.json({
          event: "iteration",
          scale: e.scale,
          iteration: e.iteration,
          iterations: e.iterations,
          total: e.total,
          terms: e.terms,
          msPerIteration: Math.round(e.msPerIteration * 10) / 10,
        });
        const terms = Object.entries(e.terms).map(([k, v]) => `${k} ${formatCost(v)}`).join(" ");
        const eta = formatDuration(((e.iterations - e.iteration) * ms) / 1000);
        const stats = ` ${e.iteration}/${e.iterations} ${
          (ms / 1000).toFixed(2)
        } s/it ETA ${eta} | ${terms}`;
        if (this.#mode === "bar") {
          const label = `${this.#prefix}scale ${e.scale}/${e.scales} `;
          const room = Math.max(10, Math.min(30, this.#width - label.length - stats.length - 3));
          const filled = Math.round((room * e.iteration) / e.iterations);
          const bar = `[${"█".repeat(filled)}${"░".repeat(room - filled)}]`;
          const line = (label + bar + stats).slice(0, this.#width - 1);
          Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}`));
          this.#drawn = true;
        } else if (this.#mode === "lines") {
          const now = performance.now();
          if (e.iteration === e.iterations || now - this.#lastLine > 5000) {
            this.#lastLine = now;
            Deno.stderr.writeSync(
              encoder.encode(`${this.#prefix}scale ${e.scale}/${e.scales}${stats}\n`),
            );
          }
        }
        break;
      }
    }
  }

  /** Ends the bar's line. */
  finish(): void {
    this.#clear();
  }

  #clear(): void {
    if (this.#drawn) {
      Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
      this.#drawn = false;
    }
  }
}
