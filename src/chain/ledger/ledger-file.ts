import { Buffer } from "node:buffer";
import { closeSync, existsSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export interface LedgerFileContents {
  /** One parsed JSON value per complete line, in order. */
  records: unknown[];
  /** Bytes dropped from the end: a torn last line (a crash mid-write) or anything after it. */
  droppedBytes: number;
}

/**
 * The append-only block file: one JSON block per line, each append fsync'd before it
 * returns, so a block that was acknowledged is on disk. At open, a last line without its
 * newline or that does not parse is a torn write: it and anything after it are cut off.
 */
/**
 * When appends reach the disk. "each": fsync'd before `append` returns. "background":
 * written at once (a killed process loses nothing, the kernel holds it) and fsync'd off the
 * event loop at most BACKGROUND_SYNC_MS later, so only a power cut can cost the newest
 * blocks; for pbft, whose quorum holds every committed block and gives a node that lost
 * some back by state transfer.
 */
export type LedgerDurability = "each" | "background";

const BACKGROUND_SYNC_MS = 50;

const NEWLINE = Buffer.from("\n", "utf8");

export class LedgerFile {
  #syncDepth = 0;
  #unsynced = false;
  #durability: LedgerDurability = "each";
  #syncTimer: ReturnType<typeof setTimeout> | undefined;
  readonly path: string;
  #fd: number | undefined;
  /** Byte offset where each record ends, so the file can be cut back to N records. */
  readonly #ends: number[];

  private constructor(path: string, fd: number, ends: number[]) {
    this.path = path;
    this.#fd = fd;
    this.#ends = ends;
  }

  static open(path: string): { file: LedgerFile; contents: LedgerFileContents } {
    const isNew = !existsSync(path);
    if (isNew) mkdirSync(dirname(path), { recursive: true });
    const bytes = isNew ? Buffer.alloc(0) : readFileSync(path);
    const records: unknown[] = [];
    const ends: number[] = [];
    let start = 0;
    while (start < bytes.length) {
      const newline = bytes.indexOf(0x0a, start);
      if (newline < 0) break;
      let record: unknown;
      try {
        record = JSON.parse(bytes.subarray(start, newline).toString("utf8"));
      } catch {
        break;
      }
      records.push(record);
      ends.push(newline + 1);
      start = newline + 1;
    }
    const validLength = ends.at(-1) ?? 0;
    if (isNew) closeSync(openSync(path, "w"));
    const fd = openSync(path, "r+");
    if (validLength < bytes.length) {
      ftruncateSync(fd, validLength);
      fsyncSync(fd);
    }
    if (isNew) syncDirectory(dirname(path));
    return {
      file: new LedgerFile(path, fd, ends),
      contents: { records, droppedBytes: bytes.length - validLength },
    };
  }

  get count(): number {
    return this.#ends.length;
  }

  /** Appends one record and waits until it is on disk (inside `syncOnce`: until that ends). */
  append(record: unknown): void {
    this.appendEncoded(Buffer.from(JSON.stringify(record), "utf8"));
  }

  /** `append` for a record already encoded (UTF-8 JSON, no newline), by a caller that needed its size. */
  appendEncoded(json: Buffer): void {
    const fd = this.#requireOpen();
    const line = Buffer.concat([json, NEWLINE]);
    const offset = this.#ends.at(-1) ?? 0;
    let written = 0;
    while (written < line.length) written += writeSync(fd, line, written, line.length - written, offset + written);
    if (this.#durability === "background") this.#syncSoon();
    else if (this.#syncDepth > 0) this.#unsynced = true;
    else fsyncSync(fd);
    this.#ends.push(offset + line.length);
  }

  set durability(durability: LedgerDurability) {
    this.#durability = durability;
  }

  #syncSoon(): void {
    if (this.#syncTimer !== undefined) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      const fd = this.#fd;
      // A failure here leaves the data where a killed process leaves it: written, not yet durable.
      if (fd !== undefined) fsync(fd, () => {});
    }, BACKGROUND_SYNC_MS);
  }

  /**
   * Group commit: appends made while `run` runs share one fsync at its end. `run` is
   * synchronous, so nothing it appended can be acknowledged or sent before that fsync.
   */
  syncOnce<T>(run: () => T): T {
    this.#syncDepth++;
    try {
      return run();
    } finally {
      this.#syncDepth--;
      if (this.#syncDepth === 0 && this.#unsynced && this.#fd !== undefined) {
        this.#unsynced = false;
        fsyncSync(this.#fd);
      }
    }
  }

  /** Keeps the first `count` records and drops the rest (a tail that failed verification). */
  truncate(count: number): void {
    const fd = this.#requireOpen();
    if (count >= this.#ends.length) return;
    const length = count === 0 ? 0 : (this.#ends[count - 1] ?? 0);
    ftruncateSync(fd, length);
    fsyncSync(fd);
    this.#ends.length = count;
  }

  close(): void {
    if (this.#fd === undefined) return;
    if (this.#syncTimer !== undefined) {
      clearTimeout(this.#syncTimer);
      this.#syncTimer = undefined;
      fsyncSync(this.#fd);
    }
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #requireOpen(): number {
    if (this.#fd === undefined) throw new Error(`Ledger file ${this.path} is closed`);
    return this.#fd;
  }
}

/** Makes a new file's directory entry durable; best effort where directories cannot be opened. */
function syncDirectory(path: string): void {
  try {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not supported on every platform; the file's own fsync still holds its data.
  }
}
