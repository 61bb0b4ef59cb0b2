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
  /** Online consistent copy of the database into `file`. */
  backup(file: string): Promise<void>;
  close(): void;
}

/** Shared transaction helper for adapters without a built-in one. */
export function makeTransaction(exec: (sql: string) => void): <T>(fn: () => T) => T {
  let depth = 0;
  return <T>(fn: () => T): T => {
    if (depth > 0) return fn();
    exec("BEGIN IMMEDIATE");
    depth++;
    try {
      const result = fn();
      exec("COMMIT");
      return result;
    } catch (err) {
      exec("ROLLBACK");
      throw err;
    } finally {
      depth--;
    }
  };
}

export const PRAGMAS = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 5000;
`;
