/**
 * The console's one subscription to the daemon's change feed, shared by every open tab:
 * however many tabs are open, the daemon's feed has one listener here (none while no tab is open), and a burst of changes
 * reaches each tab as one "change" message per interval, not one per change. Each tab then
 * refetches what it shows (server-rendered, so the page and a refresh never disagree).
 */

/** Where changes come from: the daemon's event feed (services/event-feed.ts); `onClose` when it ends (the daemon stopping). */
export interface ChangeSource {
  subscribe(listener: (event: unknown) => void, onClose?: () => void): () => void;
}

export interface LiveHubOptions {
  source: ChangeSource;
  /** Shortest time between two messages to the tabs (default 1 s: a change still shows within 2 s); changes within it are sent as one. */
  minIntervalMs?: number;
  /** Called once per message sent (the console samples the pool's size for its chart there). */
  onFlush?: () => void;
}

export interface LiveClient {
  /** Something changed (`changes` events since the last message). */
  send(message: { changes: number }): void;
  /** The feed ended: the tab's stream should close (the browser reconnects to whoever serves next). */
  end(): void;
}

export class LiveHub {
  readonly #clients = new Set<LiveClient>();
  readonly #minIntervalMs: number;
  readonly #onFlush: (() => void) | undefined;
  readonly #source: ChangeSource;
  /** Set while at least one tab is open: no tab, no listener on the feed. */
  #unsubscribe: (() => void) | undefined;
  #pending = 0;
  #flushes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: LiveHubOptions) {
    this.#minIntervalMs = options.minIntervalMs ?? 1000;
    this.#onFlush = options.onFlush;
    this.#source = options.source;
  }

  /** Adds a tab; answers the function that removes it. */
  connect(client: LiveClient): () => void {
    if (this.#closed) {
      client.end();
      return () => {};
    }
    this.#clients.add(client);
    // The first tab opens the one subscription; a closed feed ends it (and this tab) at once.
    this.#unsubscribe ??= this.#source.subscribe(
      () => this.#changed(),
      () => this.close(),
    );
    return () => {
      this.#clients.delete(client);
      if (this.#clients.size === 0 && this.#unsubscribe) {
        this.#unsubscribe();
        this.#unsubscribe = undefined;
      }
    };
  }

  get clients(): number {
    return this.#clients.size;
  }

  /**
   * How many messages went to the tabs so far. Everything a message announces was committed
   * before it went out, so numbers computed after message N show all of it: the tabs that
   * refresh on message N can share one computation (console-app.tsx does).
   */
  get flushes(): number {
    return this.#flushes;
  }

  #changed(): void {
    this.#pending++;
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => this.#flush(), this.#minIntervalMs);
    this.#timer.unref?.();
  }

  #flush(): void {
    this.#timer = undefined;
    const changes = this.#pending;
    this.#pending = 0;
    if (changes === 0 || this.#closed) return;
    this.#flushes++;
    try {
      this.#onFlush?.();
    } catch {
      // The chart's sample is a nicety; a failed one (database closing) must not stop the tabs' messages.
    }
    for (const client of this.#clients) client.send({ changes });
  }

  /** Idempotent: stops listening to the feed and drops the tabs. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    const clients = [...this.#clients];
    this.#clients.clear();
    for (const client of clients) client.end();
  }
}
