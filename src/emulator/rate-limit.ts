/**
 * Per-access-key token buckets: the service's user flow control (`Throttling.User`).
 */
import type { RateLimit } from './types';

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets, one per access key, under one configurable limit. */
export class RateLimiter {
  private limit: RateLimit | null = null;
  // Only authenticated keys reach the limiter, so there is one bucket per configured key at most.
  private readonly buckets = new Map<string, Bucket>();

  /** Sets (or with null removes) the limit; buckets start full again. */
  set(limit: RateLimit | null): void {
    this.limit = limit;
    this.buckets.clear();
  }

  /** The current limit. */
  get(): RateLimit | null {
    return this.limit;
  }

  /** Takes one token for the key; false when the call must be throttled. */
  take(accessKeyId: string, now: number): boolean {
    const limit = this.limit;
    if (!limit || (limit.accessKeyId !== undefined && limit.accessKeyId !== accessKeyId)) return true;
    const bucket = this.buckets.get(accessKeyId) ?? { tokens: limit.burst, at: now };
    const elapsedSec = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(limit.burst, bucket.tokens + elapsedSec * limit.ratePerSec);
    bucket.at = now;
    this.buckets.set(accessKeyId, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
