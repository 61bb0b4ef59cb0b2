/**
 * How long the event loop was blocked: a 1 ms timer re-armed on every tick; the longest gap
 * between two ticks, less the 1 ms asked for, is the longest stretch nothing else could run
 * (a request, a timer, an I/O callback). For benchmarks only.
 */
export interface LoopBlockWatch {
  /** Starts a new measurement: forgets the longest gap seen so far. */
  reset(): void;
  /** The longest stretch the loop was blocked since the last reset, in ms. */
  maxMs(): number;
  stop(): void;
}

export function watchLoopBlocking(): LoopBlockWatch {
  let last = performance.now();
  let longest = 0;
  let timer: ReturnType<typeof setTimeout>;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return {
    reset() {
      longest = 0;
      last = performance.now();
    },
    maxMs: () => Math.max(0, Math.max(longest, performance.now() - last) - 1),
    stop: () => clearTimeout(timer),
  };
}
