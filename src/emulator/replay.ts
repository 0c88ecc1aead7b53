/**
 * Replay detection: signature nonces remembered for the accepted clock-skew window.
 */
import { createHash } from 'node:crypto';

/**
 * Remembers `(access key, nonce)` pairs until they expire. Memory is bounded: entries are stored
 * as fixed-size hashes, and past `limit` the oldest are forgotten first (a replay older than the
 * evicted entries would then pass; the limit is sized so that takes a flood of requests).
 */
export class NonceCache {
  // Map iteration order is insertion order, so the first entry is always the oldest.
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly limit: number,
  ) {}

  /** Records the nonce; false when it was already seen within the window (a replay). */
  checkAndRecord(accessKeyId: string, nonce: string, now: number): boolean {
    this.prune(now);
    const key = createHash('sha256').update(accessKeyId).update('\n').update(nonce).digest('base64');
    const expires = this.seen.get(key);
    if (expires !== undefined && expires > now) return false;
    this.seen.delete(key);
    this.seen.set(key, now + this.ttlMs);
    while (this.seen.size > this.limit) {
      const oldest = this.seen.keys().next();
      if (oldest.done) break;
      this.seen.delete(oldest.value);
    }
    return true;
  }

  /** Nonces currently remembered. */
  get size(): number {
    return this.seen.size;
  }

  /** Forgets everything. */
  clear(): void {
    this.seen.clear();
  }

  private prune(now: number): void {
    for (const [key, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(key);
    }
  }
}
