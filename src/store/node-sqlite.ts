import { createRequire } from "node:module";
import { makeTransaction, PRAGMAS, type SqlDatabase, type SqlParams, type SqlStatement } from "./sql.ts";

/** Minimal shape of node:sqlite that we use (typed here: @types/node 20 does not carry it). */
interface NodeSqliteStatement {
  run(...params: unknown[]): { changes: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface NodeSqliteDb {
  exec(sql: string): void;
  prepare(sql: string): NodeSqliteStatement;
  close(): void;
  isOpen?: boolean;
}

/** True where `node:sqlite` can be loaded (Deno 2, Node >= 22.5). */
export function nodeSqliteAvailable(): boolean {
  try {
    createRequire(import.meta.url)("node:sqlite");
    return true;
  } catch {
    return false;
  }
}

/** node:sqlite adapter, for runtimes where the better-sqlite3 addon cannot load. */
export function openNodeSqlite(file: string): SqlDatabase {
  const mod = createRequire(import.meta.url)("node:sqlite") as {
    DatabaseSync: new (path: string) => NodeSqliteDb;
    backup?: (db: NodeSqliteDb, path: string) => Promise<unknown>;
  };
  const db = new mod.DatabaseSync(file);
  db.exec(PRAGMAS);
  const exec = (sql: string) => db.exec(sql);
  const cache = new Map<string, SqlStatement>();
  // node:sqlite takes named parameters as an object with bare names, positional ones spread.
  const args = (p?: SqlParams): unknown[] => (p === undefined ? [] : Array.isArray(p) ? p : [p]);
  let open = true;
  const prepare = (sql: string): SqlStatement => {
    let stmt = cache.get(sql);
    if (!stmt) {
      const s = db.prepare(sql);
      stmt = {
        run: (p) => ({ changes: Number(s.run(...args(p)).changes) }),
        get: <T>(p?: SqlParams) => s.get(...args(p)) as T | undefined,
        all: <T>(p?: SqlParams) => s.all(...args(p)) as T[],
      };
      cache.set(sql, stmt);
    }
    return stmt;
  };
  return {
    driver: "node:sqlite",
    exec,
    prepare,
    ...makeTransaction(prepare),
    async backup(target) {
      if (mod.backup) {
        await mod.backup(db, target);
      } else {
        // VACUUM INTO is an online, consistent copy too.
        db.prepare("VACUUM INTO ?").run(target);
      }
    },
    close() {
      if (open) {
        open = false;
        db.close();
      }
    },
  };
}
