/**
 * How long the event loop was blocked: a 1 ms timer re-armed on every tick; the longest gap
 * between two ticks, less the 1 ms asked for, is the longest stretch nothing else could run
 * (a request, a timer, an I/O callback). For benchmarks only.
 *
 * On a shared machine a gap is also time the process was not scheduled at all, which no code
 * of ours caused. So each gap's CPU time (the process's, user + system) is taken too: the
 * smaller of the two is the stretch the loop was held by running code (`maxCpuMs`).
 */
export interface LoopBlockWatch {
  /** Starts a new measurement: forgets the longest gap seen so far. */
  reset(): void;
  /** The longest gap between two ticks since the last reset (wall time), in ms. */
  maxMs(): number;
  /** The longest gap counted by the CPU time the process spent in it, in ms. */
  maxCpuMs(): number;
  stop(): void;
}

export function watchLoopBlocking(): LoopBlockWatch {
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let last = performance.now();
  let lastCpu = cpuMs();
  let longest = 0;
  let longestCpu = 0;
  let timer: ReturnType<typeof setTimeout>;
  const tick = () => {
    const now = performance.now();
    const cpu = cpuMs();
    longest = Math.max(longest, now - last);
    longestCpu = Math.max(longestCpu, Math.min(now - last, cpu - lastCpu));
    last = now;
    lastCpu = cpu;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return {
    reset() {
      longest = 0;
      longestCpu = 0;
      last = performance.now();
      lastCpu = cpuMs();
    },
    maxMs: () => Math.max(0, Math.max(longest, performance.now() - last) - 1),
    maxCpuMs: () => Math.max(0, longestCpu - 1),
    stop: () => clearTimeout(timer),
  };
}
