import type { PoolEvent } from "../core/events.ts";
import type { Logger } from "../lib/logger.ts";
import type { EventLog, EventQuery } from "../store/event-log.ts";

export type { EventQuery };

/** Hears each committed event, in id order. Must be quick and must not throw (it runs right after the commit). */
export type EventListener = (event: PoolEvent) => void;

/**
 * The daemon's one feed of what it did, shared by /api/events and the console: history from
 * the events table, and live events pushed from the one commit hook the store calls, so any
 * number of subscribers cost one fan-out per event and no polling at all.
 */
export class EventFeed {
  readonly #log: EventLog;
  readonly #logger: Logger;
  readonly #subscribers = new Map<EventListener, (() => void) | undefined>();
  readonly #detach: () => void;
  #closed = false;

  constructor(options: {
    /** The store's event log (PoolStore.events). */
    log: EventLog;
    logger: Logger;
  }) {
    this.#log = options.log;
    this.#logger = options.logger;
    this.#detach = this.#log.onCommit((event) => this.#fanOut(event));
  }

  /**
   * Recorded events, oldest first: after `afterId` (a resume point; the next `limit`), or the
   * newest `limit` (before `beforeId`, to page back); `warningsOnly`, `kinds` narrow them.
   * `limit` defaults to 100.
   */
  list(query: EventQuery = {}): PoolEvent[] {
    return this.#log.list(query);
  }

  /** The newest event's id (0: none yet): subscribe, then list after it, to miss nothing. */
  latestId(): number {
    return this.#log.latestId();
  }

  /** The oldest event still kept (0: none): a resume point before it has lost events to the log's bounds. */
  oldestId(): number {
    return this.#log.oldestId();
  }

  /**
   * Hears every event committed from now on, until the answered unsubscribe is called;
   * `onClose` runs if the feed closes first (the daemon stopping). Listing after
   * `latestId()` in the same synchronous turn as subscribing misses and repeats nothing.
   */
  subscribe(listener: EventListener, onClose?: () => void): () => void {
    if (this.#closed) {
      onClose?.();
      return () => {};
    }
    this.#subscribers.set(listener, onClose);
    return () => void this.#subscribers.delete(listener);
  }

  /** How many subscribers are listening now. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  #fanOut(event: PoolEvent): void {
    for (const listener of this.#subscribers.keys()) {
      try {
        listener(event);
      } catch (err) {
        // One broken subscriber must not cost the others their events.
        this.#subscribers.delete(listener);
        this.#logger.error("event subscriber failed; dropped", { err, event: event.id });
      }
    }
  }

  /** Ends every subscription (their onClose runs) and stops listening. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach();
    const closing = [...this.#subscribers.values()];
    this.#subscribers.clear();
    for (const onClose of closing) onClose?.();
  }
}
