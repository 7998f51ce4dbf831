// A loop whose every await is a resolved promise (an in-memory store, a synchronous agent, the
// kernel's Wasm call) runs on microtasks alone: timers, I/O and signal handlers never get a turn
// until it ends. An abort requested from a timer or a Ctrl-C handler would never be seen, and
// the audit log's quiet-time flush would never fire.

/** How often a long loop hands the event loop a turn: short enough for Ctrl-C to feel immediate. */
const TURN_INTERVAL_MS = 25;

/**
 * Returns a function to await once per loop iteration: it resolves on the next event-loop turn
 * (after timers, I/O and signal handlers ran) once `intervalMs` have passed since the last turn,
 * and is a no-op (undefined) otherwise, so the loop pays one clock read per iteration.
 */
export function eventLoopTurns(intervalMs: number = TURN_INTERVAL_MS): () => Promise<void> | undefined {
  let next = performance.now() + intervalMs;
  return () => {
    const now = performance.now();
    if (now < next) return undefined;
    next = now + intervalMs;
    return new Promise((resolve) => setImmediate(resolve));
  };
}
