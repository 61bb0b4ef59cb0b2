import { Cron } from "croner";
import type { Logger } from "../lib/logger.ts";

export interface ScheduledJob {
  name: string;
  /** Seconds between runs. */
  everySeconds: number;
  run: () => Promise<void> | void;
}

/**
 * Runs each job on its own period with croner. A job never overlaps itself (croner's
 * `protect`), a failing run is logged and the schedule goes on.
 */
export class Scheduler {
  readonly #jobs: readonly ScheduledJob[];
  readonly #logger: Logger;
  readonly #crons: Cron[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly #active = new Set<string>();
  #started = false;

  readonly #observe: ((job: string, seconds: number, ok: boolean) => void) | undefined;

  constructor(options: {
    jobs: readonly ScheduledJob[];
    logger: Logger;
    /** Told of each run: how long it took and whether it failed (the metrics). */
    observe?: (job: string, seconds: number, ok: boolean) => void;
  }) {
    this.#jobs = options.jobs;
    this.#logger = options.logger;
    this.#observe = options.observe;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const job of this.#jobs) {
      // croner's finest pattern is one second; `interval` spaces runs further apart.
      const cron = new Cron(
        "* * * * * *",
        { name: job.name, protect: true, interval: Math.max(1, Math.round(job.everySeconds)), catch: false },
        () => this.runNow(job.name),
      );
      this.#crons.push(cron);
      void this.runNow(job.name); // first run at start, not one period later
    }
  }

  /** Runs a job now unless it is already running; resolves when it ends. Never throws. */
  async runNow(name: string): Promise<void> {
    const job = this.#jobs.find((j) => j.name === name);
    if (!job) throw new Error(`no job named ${name}`);
    if (this.#active.has(name)) return;
    this.#active.add(name);
    const task = (async () => {
      const started = performance.now();
      let ok = true;
      try {
        await job.run();
      } catch (err) {
        ok = false;
        this.#logger.error("scheduled job failed", { job: name, err });
      } finally {
        this.#active.delete(name);
        this.#observe?.(name, (performance.now() - started) / 1000, ok);
      }
    })();
    this.#running.add(task);
    await task.finally(() => this.#running.delete(task));
  }

  /** Stops the schedule and waits for runs in progress. Idempotent. */
  async stop(): Promise<void> {
    for (const cron of this.#crons.splice(0)) cron.stop();
    await Promise.allSettled([...this.#running]);
  }
}
