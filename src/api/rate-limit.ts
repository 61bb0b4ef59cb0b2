/**
 * A token bucket per caller: `perSecond` tokens a second, up to one second's worth (at least
 * one) saved up. Pure and clock-injected; buckets that have refilled completely are dropped,
 * so idle callers cost nothing.
 */
export class RateLimiter {
  readonly perSecond: number;
  readonly #capacity: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: { perSecond: number; now?: () => number }) {
    this.perSecond = options.perSecond;
    this.#capacity = Math.max(1, options.perSecond);
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token for `caller`: 0 if it may go now, else the seconds until it may. */
  take(caller: string): number {
    const now = this.#now();
    const bucket = this.#buckets.get(caller) ?? { tokens: this.#capacity, at: now };
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.#buckets.set(caller, bucket);
      return (1 - bucket.tokens) / this.perSecond;
    }
    bucket.tokens -= 1;
    this.#buckets.set(caller, bucket);
    if (this.#buckets.size > 10_000) this.#forgetFull(now);
    return 0;
  }

  #forgetFull(now: number): void {
    for (const [caller, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.#capacity) this.#buckets.delete(caller);
    }
  }
}
