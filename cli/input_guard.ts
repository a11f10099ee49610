/**
 * No output may land on an input. A path is the same file as an input when
 * both name the same device and inode after symbolic links are followed —
 * which also catches hard links — or, where the file system has no inode
 * numbers, when their real paths agree.
 *
 * @module
 */

import { OutputError } from "../io.ts";

/** A file the run reads, with the words messages use for it (`the content image`). */
export interface InputFile {
  /** How messages name it. */
  label: string;
  /** Its path as given. */
  path: string;
}

interface Identity {
  label: string;
  path: string;
  dev: number | null;
  ino: number | null;
  real: string;
}

async function identify(path: string): Promise<Omit<Identity, "label" | "path"> | undefined> {
  try {
    const info = await Deno.stat(path);
    return { dev: info.dev, ino: info.ino, real: await Deno.realPath(path) };
  } catch {
    return undefined; // not there (yet): it cannot be an input
  }
}

/** Refuses output paths that resolve to one of the run's inputs. */
export class InputGuard {
  readonly #inputs: readonly Identity[];

  private constructor(inputs: readonly Identity[]) {
    this.#inputs = inputs;
  }

  /** A guard over `inputs` (files that do not exist are left out). */
  static async of(inputs: readonly InputFile[]): Promise<InputGuard> {
    const found: Identity[] = [];
    for (const input of inputs) {
      const id = await identify(input.path);
      if (id) found.push({ ...input, ...id });
    }
    return new InputGuard(found);
  }

  /**
   * Throws an {@linkcode OutputError} when `path` (written by `flag`) is an
   * input, through any symbolic or hard link.
   */
  async check(flag: string, path: string): Promise<void> {
    const out = await identify(path);
    if (!out) return;
    const same = this.#inputs.find((i) =>
      i.ino !== null && out.ino !== null
        ? i.dev === out.dev && i.ino === out.ino
        : i.real === out.real
    );
    if (same) {
      const via = same.path === path ? "" : ` (${same.path})`;
      throw new OutputError(
        `${flag} ${path}: that is ${same.label}${via}; stylegram never overwrites an input, ` +
          `choose another file name`,
      );
    }
  }
}
