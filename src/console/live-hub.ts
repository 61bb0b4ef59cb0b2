/**
 * The console's one subscription to the daemon's change feed, shared by every open tab:
 * however many tabs are open, the daemon's feed has one listener here (none while no tab is
 * open), and a burst of changes reaches each tab as one "change" message per interval, not one
 * per change. A tab on a view the hub renders gets that view's fresh content in the message,
 * rendered once for every tab on it; any other tab refetches what it shows. Either way the
 * content is server-rendered, so the page and a refresh never disagree.
 */

/** Where changes come from: the daemon's event feed (services/event-feed.ts); `onClose` when it ends (the daemon stopping). */
export interface ChangeSource {
  subscribe(listener: (event: unknown) => void, onClose?: () => void): () => void;
}

export interface LiveHubOptions {
  source: ChangeSource;
  /** Shortest time between two messages to the tabs (default 1 s: a change still shows within 2 s); changes within it are sent as one. */
  minIntervalMs?: number;
  /**
   * Views tabs may follow, each rendering its fresh content as JSON text: called once per
   * message for all the tabs on it, and not at all while no tab is. One that throws sends
   * those tabs the bare message (they refetch).
   */
  views?: Record<string, () => string>;
}

export interface LiveMessage {
  /** Events since the last message. */
  changes: number;
  /** The fresh content of the view the tab follows (JSON text), when it follows one and it rendered. */
  content?: string;
}

export interface LiveClient {
  /** The view it follows, one of the hub's `views`, if any. */
  readonly view?: string | undefined;
  /** Something changed. */
  send(message: LiveMessage): void;
  /** The feed ended: the tab's stream should close (the browser reconnects to whoever serves next). */
  end(): void;
}

export class LiveHub {
  readonly #clients = new Set<LiveClient>();
  readonly #minIntervalMs: number;
  readonly #views: Record<string, () => string>;
  readonly #source: ChangeSource;
  /** Set while at least one tab is open: no tab, no listener on the feed. */
  #unsubscribe: (() => void) | undefined;
  #pending = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: LiveHubOptions) {
    this.#minIntervalMs = options.minIntervalMs ?? 1000;
    this.#views = options.views ?? {};
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

  /** Whether `view` is one the hub renders for the tabs that follow it. */
  renders(view: string): boolean {
    return Object.hasOwn(this.#views, view);
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
    // Everything this message announces was committed before now, so content rendered now shows all of it.
    const contents = new Map<string, string>();
    const tried = new Set<string>();
    for (const { view } of this.#clients) {
      if (view === undefined || tried.has(view) || !this.renders(view)) continue;
      tried.add(view);
      try {
        contents.set(view, this.#views[view]!());
      } catch {
        // Those tabs get the bare message and refetch: a failed render (database closing) must not stop the messages.
      }
    }
    for (const client of this.#clients) {
      const content = client.view === undefined ? undefined : contents.get(client.view);
      client.send(content === undefined ? { changes } : { changes, content });
    }
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
