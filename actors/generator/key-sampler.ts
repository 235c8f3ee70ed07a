/**
 * Draws key indexes with a Zipf-like skew: the key of rank r (0-based) has weight
 * 1 / (r + 1)^skew, so skew 0 is uniform and skew 1 is classic Zipf (key 0 hottest).
 * The cumulative distribution is computed once; a draw is one binary search.
 *
 * `ranks` lists the key ranks that may be drawn (all of them, or those of one partition),
 * each keeping its weight from the full key space.
 */
export class KeySampler {
  /** Cumulative weights, cdf[i] = sum of weights of ranks[0..i]; undefined when uniform. */
  private readonly cdf: Float64Array | undefined;
  private readonly total: number;

  constructor(
    private readonly size: number,
    skew: number,
    ranks?: ArrayLike<number>,
  ) {
    if (skew === 0) {
      this.cdf = undefined;
      this.total = size;
      return;
    }
    const cdf = new Float64Array(size);
    let sum = 0;
    for (let i = 0; i < size; i++) {
      const rank = ranks === undefined ? i : ranks[i];
      sum += 1 / (rank + 1) ** skew;
      cdf[i] = sum;
    }
    this.cdf = cdf;
    this.total = sum;
  }

  /** Index into the sampled keys for a uniform `r` in [0, 1). */
  pick(r: number): number {
    const cdf = this.cdf;
    if (cdf === undefined) return Math.floor(r * this.size);
    const target = r * this.total;
    let low = 0;
    let high = this.size - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (cdf[mid] > target) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}
