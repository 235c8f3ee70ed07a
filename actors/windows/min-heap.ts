/** A binary min-heap of items ordered by a numeric priority (ties in any order). */
export class MinHeap<T> {
  private readonly priorities: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The smallest priority, or Infinity when empty. */
  peekPriority(): number {
    return this.items.length === 0 ? Number.POSITIVE_INFINITY : this.priorities[0];
  }

  push(priority: number, item: T): void {
    const priorities = this.priorities;
    const items = this.items;
    let index = items.length;
    priorities.push(priority);
    items.push(item);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (priorities[parent] <= priority) break;
      priorities[index] = priorities[parent];
      items[index] = items[parent];
      index = parent;
    }
    priorities[index] = priority;
    items[index] = item;
  }

  pop(): T | undefined {
    const priorities = this.priorities;
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const lastPriority = priorities.pop() as number;
    const lastItem = items.pop() as T;
    if (items.length === 0) return top;
    priorities[0] = lastPriority;
    items[0] = lastItem;
    this.siftDown(0);
    return top;
  }

  /** Keeps only the items `keep` accepts (dropping stale entries of a lazy-deletion heap), in O(n). */
  retain(keep: (item: T) => boolean): void {
    const priorities = this.priorities;
    const items = this.items;
    let kept = 0;
    for (let index = 0; index < items.length; index++) {
      if (!keep(items[index])) continue;
      priorities[kept] = priorities[index];
      items[kept] = items[index];
      kept++;
    }
    priorities.length = kept;
    items.length = kept;
    for (let index = (kept >> 1) - 1; index >= 0; index--) this.siftDown(index);
  }

  private siftDown(start: number): void {
    const priorities = this.priorities;
    const items = this.items;
    const size = items.length;
    const priority = priorities[start];
    const item = items[start];
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && priorities[right] < priorities[left] ? right : left;
      if (priorities[child] >= priority) break;
      priorities[index] = priorities[child];
      items[index] = items[child];
      index = child;
    }
    priorities[index] = priority;
    items[index] = item;
  }
}
