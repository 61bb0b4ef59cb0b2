import { setImmediate } from "node:timers";

/**
 * Gives the event loop back for one turn: requests, timers and I/O waiting now run before the
 * caller goes on. Long jobs call it between steps so that none holds the loop for long.
 * (setImmediate, not a resolved promise: microtasks would run before anything else could.)
 */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
