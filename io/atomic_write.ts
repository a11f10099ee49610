/**
 * Atomic file writes: write a temporary file in the target's directory, then
 * rename it over the target. Readers see the old file or the complete new
 * one, never half of it; a failure leaves no temporary file behind.
 *
 * @module
 */

/** A one-line problem writing an output file. */
export class OutputError extends Error {
  /** Creates the error; the message names the path and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

function directoryOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** Checks that `path` can be written: its directory exists and is a directory. */
export async function checkWritable(path: string): Promise<void> {
  const dir = directoryOf(path);
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) throw new OutputError(`${path}: ${dir} is not a directory`);
  } catch (e) {
    if (e instanceof OutputError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new OutputError(`${path}: the directory ${dir} does not exist; create it first`);
    }
    throw new OutputError(
      `${path}: cannot use the directory ${dir} (${(e as Error).message.split("\n")[0]})`,
    );
  }
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new OutputError(`${path}: is a directory; give a file name`);
  } catch (e) {
    if (e instanceof OutputError) throw e;
  }
}

/** Writes `data` to `path` atomically. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await checkWritable(path);
  const dir = directoryOf(path);
  const base = path.slice(path.lastIndexOf("/") + 1);
  const temp = `${dir}/.${base}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeFile(temp, data);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new OutputError(`${path}: permission denied; choose a writable location`);
    }
    throw new OutputError(`${path}: cannot write (${(e as Error).message.split("\n")[0]})`);
  }
}
