/** A first-in first-out queue with O(1) shift, for idle connections and requests waiting for one. */
export function createFifo<T>() {
  let items: T[] = [];
  let head = 0;
  return {
    push(item: T): void {
      items.push(item);
    },
    shift(): T | undefined {
      if (head >= items.length) return undefined;
      const item = items[head++]!;
      if (head > 4096 && head * 2 > items.length) {
        items = items.slice(head);
        head = 0;
      }
      return item;
    },
    get size(): number {
      return items.length - head;
    },
  };
}
