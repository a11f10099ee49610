/**
 * Running the PyTorch reference from the benchmarks: Debian's python3-torch
 * at `/usr/bin/python3`, with a real BLAS.
 *
 * Why the BLAS matters: Debian's torch calls the system `libblas.so.3` for
 * matrix products (the Gram matrices and their gradients), and the default
 * provider, `libblas3`, is the unoptimised reference BLAS — about 3 GFLOP/s
 * here against ~140 for OpenBLAS, which would make PyTorch look several times
 * slower than it is (pip's wheels bundle MKL instead). So unless the system
 * already provides an optimised BLAS, {@linkcode referenceEnv} unpacks
 * Debian's `libopenblas0-openmp` (same OpenMP runtime as torch, so
 * `torch.set_num_threads` governs it too) into the cache folder with
 * `apt-get download` + `dpkg -x` — nothing is installed system-wide — and
 * points `LD_LIBRARY_PATH` at it.
 *
 * @module
 */

import { CACHE_DIR } from "./export_network.ts";

/**
 * The Python that runs the reference: Debian's, with python3-torch (pyenv's
 * `python3` on PATH may lack torch); `STYLEGRAM_REFERENCE_PYTHON` picks
 * another (e.g. one with a CUDA build of torch, in bench/gpu.sh).
 */
export const PYTHON: string = Deno.env.get("STYLEGRAM_REFERENCE_PYTHON") ?? "/usr/bin/python3";

/** The reference's main script. */
export const REFERENCE_SCRIPT: string = new URL("./reference.py", import.meta.url).pathname;

const BLAS_DIR = `${CACHE_DIR}openblas`;
const BLAS_LIB = `${BLAS_DIR}/usr/lib/x86_64-linux-gnu/openblas-openmp`;

/** How the reference's BLAS was set up, for the report. */
export interface ReferenceEnv {
  /** Extra environment for the Python process. */
  env: Record<string, string>;
  /** One line: which BLAS torch will use. */
  blas: string;
}

async function run(cmd: string, args: string[], cwd?: string): Promise<boolean> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" })
    .output().catch(() => undefined);
  return out?.success ?? false;
}

/** True when the system's libblas.so.3 is the slow reference implementation. */
async function systemBlasIsReference(): Promise<boolean> {
  const link = await Deno.realPath("/usr/lib/x86_64-linux-gnu/libblas.so.3").catch(() => "");
  return link === "" || link.includes("/blas/libblas.so");
}

let prepared: Promise<ReferenceEnv> | undefined;

/** The environment for running the reference (OpenBLAS unpacked once if needed). */
export function referenceEnv(): Promise<ReferenceEnv> {
  prepared ??= (async (): Promise<ReferenceEnv> => {
    if (PYTHON !== "/usr/bin/python3") {
      return { env: {}, blas: `the BLAS of ${PYTHON}'s torch build` };
    }
    if (!(await systemBlasIsReference())) {
      return { env: {}, blas: "the system's libblas.so.3 (an optimised BLAS)" };
    }
    const have = await Deno.stat(`${BLAS_LIB}/libblas.so.3`).then(() => true, () => false);
    if (!have) {
      const tmp = await Deno.makeTempDir({ prefix: "stylegram-openblas-" });
      try {
        const ok = await run("apt-get", ["download", "libopenblas0-openmp"], tmp) &&
          await (async () => {
            const deb = [...Deno.readDirSync(tmp)].find((e) => e.name.endsWith(".deb"));
            return deb !== undefined && await run("dpkg", ["-x", `${tmp}/${deb.name}`, BLAS_DIR]);
          })();
        if (!ok) {
          return {
            env: {},
            blas:
              "Debian's reference libblas3 (slow: could not fetch libopenblas0-openmp with apt-get)",
          };
        }
      } finally {
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
      }
    }
    const path = Deno.env.get("LD_LIBRARY_PATH");
    return {
      env: { LD_LIBRARY_PATH: path ? `${BLAS_LIB}:${path}` : BLAS_LIB },
      blas: "OpenBLAS 0.3 (Debian libopenblas0-openmp, unpacked into bench/results/cache)",
    };
  })();
  return prepared!;
}

/** Arguments of {@linkcode referenceCommand}. */
export interface ReferenceArgs {
  /** The exported network's path prefix. */
  network: string;
  /** The input bundle. */
  inputs: string;
  /** Recipe JSON file. */
  recipe?: string;
  /** Torch threads. */
  threads: number;
  /** Further arguments (`--json -o OUT`, `--score F`, `--bench-eval N`…). */
  extra?: string[];
}

/** The program and arguments that run the reference. */
export function referenceCommand(a: ReferenceArgs): { cmd: string; args: string[] } {
  return {
    cmd: PYTHON,
    args: [
      REFERENCE_SCRIPT,
      "--network",
      a.network,
      "--inputs",
      a.inputs,
      ...(a.recipe ? ["--recipe", a.recipe] : []),
      "--threads",
      String(a.threads),
      ...(a.extra ?? []),
    ],
  };
}
