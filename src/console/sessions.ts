import { randomBytes, timingSafeEqual } from "node:crypto";

export interface ConsoleSession {
  /** The cookie's value: 256 random bits, the only thing the browser holds. */
  id: string;
  /** The synchronizer token every state-changing form carries (CSRF). */
  csrf: string;
  /** Which operator key signed in: a digest prefix, never the key. */
  caller: string;
  createdAt: number;
  lastSeenAt: number;
  /** A message for the next page shown (what an action did, or why it was refused). */
  flash: { kind: "ok" | "error"; text: string } | undefined;
}

export interface SessionStoreOptions {
  /** A session unused this long is gone. */
  idleMs: number;
  /** A session is gone this long after sign-in, however busy. */
  absoluteMs: number;
  /** Most sessions held at once; past it the least recently used goes. */
  max?: number;
  /** Milliseconds since the epoch; injected so tests can move time. */
  now?: () => number;
}

const token = () => randomBytes(32).toString("base64url");

/**
 * Console sessions, held in the daemon's memory only: a restart signs everyone out, which
 * is what a restart of the thing holding the keys should do. The browser holds an opaque id
 * (the key never leaves the sign-in request). Expiry is checked on every read, so no timer runs.
 */
export class SessionStore {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #o: Required<SessionStoreOptions>;

  constructor(options: SessionStoreOptions) {
    this.#o = { max: 10_000, now: Date.now, ...options };
  }

  create(caller: string): ConsoleSession {
    const now = this.#o.now();
    if (this.#sessions.size >= this.#o.max) {
      // Map order is insertion order and get() re-inserts: the first is the least recently used.
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    const session: ConsoleSession = { id: token(), csrf: token(), caller, createdAt: now, lastSeenAt: now, flash: undefined };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session for a cookie value, its idle clock restarted; undefined when unknown or expired. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    const now = this.#o.now();
    if (now - session.lastSeenAt >= this.#o.idleMs || now - session.createdAt >= this.#o.absoluteMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeenAt = now;
    this.#sessions.delete(id);
    this.#sessions.set(id, session);
    return session;
  }

  /** Seconds the cookie should live: what is left of the absolute lifetime. */
  remainingSeconds(session: ConsoleSession): number {
    return Math.max(1, Math.floor((session.createdAt + this.#o.absoluteMs - this.#o.now()) / 1000));
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfMatches(session: ConsoleSession, given: unknown): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
