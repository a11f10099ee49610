/**
 * Iterate averaging: an exponential moving average of the iterates, which
 * smooths the high-frequency noise that stochastic-looking optimisation
 * leaves in the pixels (as in crowsonkb/style-transfer-pytorch).
 *
 * @module
 */

/** An exponential moving average of Float32Array iterates, bias-corrected. */
export class IterateAverage {
  readonly #decay: number;
  readonly #sum: Float32Array;
  #weight = 0;

  /** `decay` in [0, 1): the weight kept by the old average at each update. */
  constructor(size: number, decay: number) {
    if (!(decay >= 0 && decay < 1)) {
      throw new RangeError(`average: decay ${decay} must be in [0, 1)`);
    }
    this.#decay = decay;
    this.#sum = new Float32Array(size);
  }

  /** Adds an iterate. */
  update(x: Float32Array): void {
    const d = this.#decay;
    for (let i = 0; i < x.length; i++) this.#sum[i] = d * this.#sum[i] + (1 - d) * x[i];
    this.#weight = d * this.#weight + (1 - d);
  }

  /** The average so far (bias-corrected: not pulled towards zero early on). */
  value(): Float32Array {
    if (this.#weight === 0) throw new Error("average: no iterate added yet");
    const out = new Float32Array(this.#sum.length);
    for (let i = 0; i < out.length; i++) out[i] = this.#sum[i] / this.#weight;
    return out;
  }
}
