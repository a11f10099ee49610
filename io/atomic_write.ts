/**
 * Atomic file writes: write a temporary file in the target's directory, then
 * rename it over the target. Readers see the old file or the complete new
 * one, never half of it; a failure leaves no temporary file behind. Node's
 * file API, so it runs in Deno and Node alike.
 *
 * @module
 */

import { rename, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A one-line problem writing an output file. */
export class OutputError extends Error {
  /** Creates the error; the message names the path and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

/** The error code of a failed file operation (`ENOENT`, `EACCES`, …), if any. */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The first line of an error's message. */
export const firstLine = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split("\n")[0];

/** Checks that `path` can be written: its directory exists and is a directory. */
export async function checkWritable(path: string): Promise<void> {
  const dir = dirname(path);
  try {
    if (!(await stat(dir)).isDirectory()) {
      throw new OutputError(`${path}: ${dir} is not a directory`);
    }
  } catch (e) {
    if (e instanceof OutputError) throw e;
    if (errorCode(e) === "ENOENT") {
      throw new OutputError(`${path}: the directory ${dir} does not exist; create it first`);
    }
    if (errorCode(e) === "ENOTDIR") throw new OutputError(`${path}: ${dir} is not a directory`);
    throw new OutputError(`${path}: cannot use the directory ${dir} (${firstLine(e)})`);
  }
  try {
    if ((await stat(path)).isDirectory()) {
      throw new OutputError(`${path}: is a directory; give a file name`);
    }
  } catch (e) {
    if (e instanceof OutputError) throw e;
  }
}

/** Writes `data` to `path` atomically. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await checkWritable(path);
  const temp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => {});
    if (errorCode(e) === "EACCES" || errorCode(e) === "EPERM") {
      throw new OutputError(`${path}: permission denied; choose a writable location`);
    }
    throw new OutputError(`${path}: cannot write (${firstLine(e)})`);
  }
}
