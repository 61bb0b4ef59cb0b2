import { Hono } from "hono";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppEnv } from "../env.ts";
import type { RouteDoc } from "../route-doc.ts";
import { onlyKeys, readInput } from "../input.ts";

export const backupDocs: RouteDoc[] = [
  {
    method: "GET",
    path: "/api/backup",
    summary: "An online, consistent copy of the pool database (the SQLite file)",
    description: "HEAD is a 405: this GET acts.",
    access: "operator",
    answer: { raw: "application/vnd.sqlite3", description: "the database file" },
  },
];

export const backup = new Hono<AppEnv>();

/**
 * GET /api/backup: an online, consistent copy of the pool database, as the SQLite file
 * itself (application/vnd.sqlite3). Made with SQLite's backup API on the daemon's own
 * connection while it goes on serving, so writes made meanwhile are in the copy or not,
 * never half. `chainpool backup FILE` calls this.
 */
backup.get("/backup", async (c) => {
  onlyKeys(await readInput(c), [], "field");
  const { store, logger } = c.var.services;
  const dir = mkdtempSync(join(tmpdir(), "chainpool-backup-"));
  try {
    const file = join(dir, "chainpool.db");
    const started = Date.now();
    await store.db.backup(file);
    // A pool database is megabytes: held in memory once, so the temp file goes at once.
    const bytes = readFileSync(file);
    logger.info("database backed up", { request_id: c.get("requestId"), bytes: bytes.byteLength, ms: Date.now() - started });
    c.header("content-type", "application/vnd.sqlite3");
    c.header("content-disposition", 'attachment; filename="chainpool.db"');
    return c.body(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), 200);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
