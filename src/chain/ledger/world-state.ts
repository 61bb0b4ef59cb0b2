import { createHash } from "node:crypto";

/** Read access to a key/value state, committed or pending. */
export interface StateReader {
  get(key: string): string | undefined;
  /** Keys that start with `prefix`, sorted. */
  keysWithPrefix(prefix: string): string[];
}

/** Buffered writes: a string sets a key, null deletes it. */
export type StateWrites = Map<string, string | null>;

/**
 * The committed world state: every chaincode's keys and the chaincode instance registry,
 * kept as one flat map of namespaced keys (see state-keys.ts). Changed only by `apply`,
 * with the writes of a whole committed block.
 */
export class WorldState implements StateReader {
  readonly #entries = new Map<string, string>();

  get(key: string): string | undefined {
    return this.#entries.get(key);
  }

  keysWithPrefix(prefix: string): string[] {
    const keys: string[] = [];
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) keys.push(key);
    return keys.sort();
  }

  apply(writes: StateWrites): void {
    for (const [key, value] of writes) {
      if (value === null) this.#entries.delete(key);
      else this.#entries.set(key, value);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Forgets everything: the state is then rebuilt from the blocks kept (a ledger rolled back). */
  clear(): void {
    this.#entries.clear();
  }

  /**
   * SHA-256 (hex) over every key/value pair in key order, as the state would be with
   * `pending` applied: the block's stateHash, computed before the block is committed.
   */
  hash(pending: StateWrites = new Map()): string {
    const keys = new Set(this.#entries.keys());
    for (const key of pending.keys()) keys.add(key);
    const hasher = createHash("sha256");
    for (const key of [...keys].sort()) {
      const value = pending.has(key) ? pending.get(key) : this.#entries.get(key);
      if (value === null || value === undefined) continue;
      hasher.update(`${JSON.stringify(key)}:${JSON.stringify(value)}\n`, "utf8");
    }
    return hasher.digest("hex");
  }
}

/**
 * Writes layered over another state, so a transaction or a block runs without touching
 * what is committed: `commitTo` hands the writes to the layer below on success, and a
 * failure simply drops the overlay.
 */
export class StateOverlay implements StateReader {
  readonly writes: StateWrites = new Map();
  readonly #base: StateReader;

  constructor(base: StateReader) {
    this.#base = base;
  }

  get(key: string): string | undefined {
    if (this.writes.has(key)) return this.writes.get(key) ?? undefined;
    return this.#base.get(key);
  }

  put(key: string, value: string): void {
    this.writes.set(key, value);
  }

  delete(key: string): void {
    this.writes.set(key, null);
  }

  keysWithPrefix(prefix: string): string[] {
    const keys = new Set(this.#base.keysWithPrefix(prefix));
    for (const [key, value] of this.writes) {
      if (!key.startsWith(prefix)) continue;
      if (value === null) keys.delete(key);
      else keys.add(key);
    }
    return [...keys].sort();
  }

  commitTo(target: StateOverlay): void {
    for (const [key, value] of this.writes) target.writes.set(key, value);
  }
}
