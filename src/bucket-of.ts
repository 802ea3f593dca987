/**
 * Which of `n` buckets (queue shards, status channels) a request id falls in: FNV-1a over the id,
 * so every process places the same request in the same bucket, and ids spread evenly.
 */
export function bucketOf(requestId: string, n: number): number {
  if (n === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i++) {
    hash ^= requestId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % n;
}
