import { openBetterSqlite3 } from "./better-sqlite3.ts";
import { openNodeSqlite, nodeSqliteAvailable } from "./node-sqlite.ts";
import type { SqlDatabase } from "./sql.ts";
import { runtimeKind } from "../lib/runtime.ts";

export type SqlDriverName = "better-sqlite3" | "node:sqlite" | "auto";

/**
 * Opens the database with the chosen driver. "auto" takes node:sqlite in the single
 * executable and under Deno (no native addon to carry or load there); on plain Node it
 * prefers better-sqlite3 and falls back to node:sqlite.
 */
export function openDatabase(file: string, driver: SqlDriverName = "auto"): SqlDatabase {
  if (driver === "better-sqlite3") return openBetterSqlite3(file);
  if (driver === "node:sqlite") return openNodeSqlite(file);
  if (runtimeKind() !== "node") return openNodeSqlite(file);
  try {
    return openBetterSqlite3(file);
  } catch (err) {
    if (nodeSqliteAvailable()) return openNodeSqlite(file);
    throw err;
  }
}
