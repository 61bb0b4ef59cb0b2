/**
 * The pool's size (free clusters) minute by minute over the last hour, for the overview's
 * chart: the daemon keeps no such history in its database, so the console samples it
 * whenever the feed reports a change while a tab is open, and whenever the overview or the
 * chart is read, and keeps the last value of each minute, in memory (a restart starts it
 * afresh). A minute with no sample carries the one before it.
 */
export class PoolHistory {
  readonly #byMinute = new Map<number, number>();

  /** `now` in ms since the epoch. */
  record(now: number, free: number): void {
    const minute = Math.floor(now / 60_000);
    this.#byMinute.set(minute, free);
    for (const m of this.#byMinute.keys()) if (m <= minute - 60) this.#byMinute.delete(m);
  }

  /** The 60 minutes up to `now` (unix seconds of each minute's start) with the free count then, null before the first sample. */
  series(now: number): { t: number[]; free: Array<number | null> } {
    const last = Math.floor(now / 60_000);
    const t: number[] = [];
    const free: Array<number | null> = [];
    let carried: number | null = null;
    // A value from before the window carries into its first minutes.
    for (const [m, v] of [...this.#byMinute].sort((a, b) => a[0] - b[0])) if (m <= last - 60) carried = v;
    for (let m = last - 59; m <= last; m++) {
      const v = this.#byMinute.get(m);
      if (v !== undefined) carried = v;
      t.push(m * 60);
      free.push(carried);
    }
    return { t, free };
  }
}
