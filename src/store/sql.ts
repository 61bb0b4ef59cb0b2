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

/**
 * Shared transaction helper. BEGIN/COMMIT/ROLLBACK go through prepared statements: parsing
 * them on every claim showed up as a tenth of an apply's time.
 */
export function makeTransaction(prepare: (sql: string) => SqlStatement): <T>(fn: () => T) => T {
  const begin = prepare("BEGIN IMMEDIATE");
  const commit = prepare("COMMIT");
  const rollback = prepare("ROLLBACK");
  let depth = 0;
  return <T>(fn: () => T): T => {
    if (depth > 0) return fn();
    begin.run();
    depth++;
    try {
      const result = fn();
      commit.run();
      return result;
    } catch (err) {
      rollback.run();
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
