/**
 * The overview chart's pool-size series: the 60 minutes up to `now` (ms since the epoch), as
 * unix seconds of each minute's start, with the free count then. The scheduler notes the
 * pool's size once a minute (PoolStore.recordPoolSample, kept across restarts); each note
 * carries over the minutes after it that have none (`samples` may start with the last note
 * before the window, PoolStore.poolSamples), and the current minute shows `liveFree`. Null
 * before the first note.
 */
export function poolSeries(samples: ReadonlyArray<{ minute: number; free: number }>, now: number, liveFree: number): { t: number[]; free: Array<number | null> } {
  const last = Math.floor(now / 60_000);
  const byMinute = new Map(samples.map((s) => [s.minute, s.free] as const));
  const t: number[] = [];
  const free: Array<number | null> = [];
  let carried: number | null = null;
  for (const s of samples) if (s.minute <= last - 60) carried = s.free;
  for (let m = last - 59; m < last; m++) {
    carried = byMinute.get(m) ?? carried;
    t.push(m * 60);
    free.push(carried);
  }
  t.push(last * 60);
  free.push(liveFree);
  return { t, free };
}

/** The first minute of the window poolSeries answers for `now`. */
export const poolSeriesStart = (now: number): number => Math.floor(now / 60_000) - 59;
