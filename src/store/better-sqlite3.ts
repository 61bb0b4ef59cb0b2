import { createRequire } from "node:module";
import { makeTransaction, PRAGMAS, type SqlDatabase, type SqlParams, type SqlStatement } from "./sql.ts";

type BetterDb = import("better-sqlite3").Database;
type BetterStatement = import("better-sqlite3").Statement;

/** better-sqlite3 adapter. Loaded lazily so that runtimes without the addon never touch it. */
export function openBetterSqlite3(file: string): SqlDatabase {
  const require = createRequire(import.meta.url);
  const Database = require("better-sqlite3") as typeof import("better-sqlite3");
  const db: BetterDb = new Database(file);
  db.exec(PRAGMAS);
  const exec = (sql: string) => void db.exec(sql);
  const cache = new Map<string, SqlStatement>();
  const wrap = (stmt: BetterStatement): SqlStatement => {
    const args = (p?: SqlParams) => (p === undefined ? [] : [p]);
    return {
      run: (p) => ({ changes: stmt.run(...args(p)).changes }),
      get: <T>(p?: SqlParams) => stmt.get(...args(p)) as T | undefined,
      all: <T>(p?: SqlParams) => stmt.all(...args(p)) as T[],
    };
  };
  const prepare = (sql: string): SqlStatement => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = wrap(db.prepare(sql));
      cache.set(sql, stmt);
    }
    return stmt;
  };
  return {
    driver: "better-sqlite3",
    exec,
    prepare,
    ...makeTransaction(prepare),
    async backup(target) {
      await db.backup(target);
    },
    close() {
      if (db.open) db.close();
    },
  };
}
