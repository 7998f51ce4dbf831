/** The first retry after a failure comes after this many milliseconds (OPA's minRetryDelay). */
const MIN_RETRY_MS = 100;

/**
 * Milliseconds until the next poll: after a failure, OPA's DefaultBackoff (100 ms growing by 1.6
 * per retry, capped at the max delay, ±20% jitter); after a success, a uniform pick between the
 * min and max delay, or none while the server holds long polls (it waits for us).
 */
export function nextDelayMs(options: { readonly failed: boolean; readonly retries: number; readonly longPoll: boolean; readonly minMs: number; readonly maxMs: number; readonly random?: () => number }): number {
  const random = options.random ?? Math.random;
  if (options.failed) {
    let backoff = MIN_RETRY_MS;
    for (let left = options.retries; backoff < options.maxMs && left > 0; left--) backoff *= 1.6;
    backoff = Math.min(backoff, Math.max(options.maxMs, MIN_RETRY_MS));
    return Math.max(0, Math.round(backoff * (1 + 0.2 * (random() * 2 - 1))));
  }
  if (options.longPoll) return 0;
  return Math.round(options.minMs + (options.maxMs - options.minMs) * random());
}
