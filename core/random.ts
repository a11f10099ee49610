/**
 * Seeded pseudo-random numbers (mulberry32): noise images, random network
 * weights and test data are reproducible from one integer seed on every
 * runtime.
 *
 * @module
 */

/** A generator of uniform numbers in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of {@linkcode uniform}. */
export interface UniformOptions {
  /** Lower bound (default -1). */
  lo?: number;
  /** Upper bound, excluded (default 1). */
  hi?: number;
}

/** `n` uniform values in [lo, hi) from `seed`. */
export function uniform(n: number, seed: number, options: UniformOptions = {}): Float32Array {
  const { lo = -1, hi = 1 } = options;
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

/** `n` normal values with mean 0 and standard deviation `std` from `seed` (Box–Muller). */
export function normal(n: number, seed: number, std = 1): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next())) * std;
    const phi = 2 * Math.PI * next();
    out[i] = r * Math.cos(phi);
    if (i + 1 < n) out[i + 1] = r * Math.sin(phi);
  }
  return out;
}
