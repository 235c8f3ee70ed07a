/**
 * Which epoch-aligned windows an event time falls in. Uses the remainder rather than
 * `Math.floor(t / size) * size` because `%` is exact in IEEE doubles, so starts are
 * exact for any integer time; negative times round towards -Infinity.
 */

/** The start of the window of `size` (a multiple of `size`) that holds `time`. */
export function alignedStart(time: number, size: number): number {
  const remainder = time % size;
  return remainder < 0 ? time - remainder - size : time - remainder;
}

/**
 * Starts of every hopping window holding `time`, ascending: each multiple `s` of
 * `slide` with `s <= time < s + size`. Empty when `slide > size` leaves `time` in a gap.
 */
export function hoppingStarts(time: number, size: number, slide: number): number[] {
  const starts: number[] = [];
  let start = alignedStart(time, slide);
  while (start + size > time) {
    starts.push(start);
    start -= slide;
  }
  return starts.reverse();
}
