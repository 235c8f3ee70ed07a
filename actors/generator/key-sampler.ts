/**
 * Draws key indexes with a Zipf-like skew: the key of rank r (0-based) has weight
 * 1 / (r + 1)^skew, so skew 0 is uniform and skew 1 is classic Zipf (key 0 hottest).
 * The cumulative distribution is computed once; a draw is one binary search, narrowed
 * first by a guide table (the CDF index at each 1/size step of the total), so a draw
 * costs a couple of comparisons instead of log2(size) cache misses.
 *
 * `ranks` lists the key ranks that may be drawn (all of them, or those of one partition),
 * each keeping its weight from the full key space.
 */
export class KeySampler {
  /** Cumulative weights, cdf[i] = sum of weights of ranks[0..i]; undefined when uniform. */
  private readonly cdf: Float64Array | undefined;
  /** guide[j] = first index whose cdf exceeds j / size of the total. */
  private readonly guide: Int32Array | undefined;
  private readonly total: number;

  constructor(
    private readonly size: number,
    skew: number,
    ranks?: ArrayLike<number>,
  ) {
    if (skew === 0) {
      this.cdf = undefined;
      this.guide = undefined;
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
    const guide = new Int32Array(size + 1);
    let index = 0;
    for (let j = 0; j <= size; j++) {
      const threshold = (j / size) * sum;
      while (index < size - 1 && cdf[index] <= threshold) index++;
      guide[j] = index;
    }
    this.cdf = cdf;
    this.guide = guide;
    this.total = sum;
  }

  /** Index into the sampled keys for a uniform `r` in [0, 1). */
  pick(r: number): number {
    const cdf = this.cdf;
    if (cdf === undefined) return Math.floor(r * this.size);
    const target = r * this.total;
    const bucket = Math.floor(r * this.size);
    const guide = this.guide!;
    const found = search(cdf, guide[bucket], guide[bucket + 1], target);
    // Rounding can put a target an ulp outside its guide bucket: then search everything.
    const exact = cdf[found] > target ? found === 0 || cdf[found - 1] <= target : found === this.size - 1;
    return exact ? found : search(cdf, 0, this.size - 1, target);
  }
}

/** First index in [low, high] whose cumulative weight exceeds `target` (high if none). */
function search(cdf: Float64Array, low: number, high: number, target: number): number {
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (cdf[mid] > target) high = mid;
    else low = mid + 1;
  }
  return low;
}
