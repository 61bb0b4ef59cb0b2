/**
 * The small synchronous SQL contract the pool store is written against. Two adapters
 * implement it: better-sqlite3 (Node) and node:sqlite (Deno, Node >= 22.5). Both are
 * synchronous, which is what makes a claim one uninterruptible transaction in this process.
 */
export type SqlValue = string | number | bigint | null | Uint8Array;
export type SqlParams = Record<string, SqlValue> | SqlValue[];

export interface SqlStatement {
  run(params?: SqlParams): { changes: number };
  get<T = Record<string, unknown>>(params?: SqlParams): T | undefined;
  all<T = Record<string, unknown>>(params?: SqlParams): T[];
}

export interface SqlDatabase {
  readonly driver: "better-sqlite3" | "node:sqlite";
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  /** Runs fn inside BEGIN IMMEDIATE .. COMMIT; rolls back on throw. Nested calls join the outer one. */
  transaction<T>(fn: () => T): T;
  /**
   * Runs fn once the transaction in progress commits (in the order given), or at once outside
   * one; dropped if it rolls back. For telling others of a change only once it is durable.
   */
  afterCommit(fn: () => void): void;
  /** Online consistent copy of the database into `file`. */
  backup(file: string): Promise<void>;
  close(): void;
}

/**
 * Shared transaction helper. BEGIN/COMMIT/ROLLBACK go through prepared statements: parsing
 * them on every claim showed up as a tenth of an apply's time.
 */
export function makeTransaction(prepare: (sql: string) => SqlStatement): Pick<SqlDatabase, "transaction" | "afterCommit"> {
  const begin = prepare("BEGIN IMMEDIATE");
  const commit = prepare("COMMIT");
  const rollback = prepare("ROLLBACK");
  let depth = 0;
  let committed: Array<() => void> = [];
  return {
    transaction: <T>(fn: () => T): T => {
      if (depth > 0) return fn();
      begin.run();
      depth++;
      let result: T;
      try {
        result = fn();
        commit.run();
      } catch (err) {
        committed = [];
        rollback.run();
        throw err;
      } finally {
        depth--;
      }
      if (committed.length > 0) {
        const due = committed;
        committed = [];
        for (const run of due) run();
      }
      return result;
    },
    afterCommit: (fn) => {
      if (depth > 0) committed.push(fn);
      else fn();
    },
  };
}

export const PRAGMAS = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 5000;
`;
