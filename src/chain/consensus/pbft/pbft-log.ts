import { Buffer } from "node:buffer";
import { closeSync, existsSync, fsync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import type { CertEntry, PreparedEntry } from "./pbft-messages.ts";
import type { PersistRecord } from "./pbft-replica.ts";

/**
 * What a replica keeps across restarts besides its ledger: the P and Q entries above its
 * stable checkpoint (see ReplicaEnvironment.persist), folded so that only the latest per
 * sequence number (and digest) is kept, and dropped once a checkpoint covers them.
 */
export class PbftLog {
  readonly #prepared = new Map<number, PreparedEntry>();
  readonly #prePrepared = new Map<string, CertEntry>();
  #stable = 0;

  /** Folds one record in; true when it moved the stable checkpoint (time to compact). */
  apply(record: PersistRecord): boolean {
    switch (record.type) {
      case "prepared": {
        const held = this.#prepared.get(record.entry.seq);
        if (record.entry.seq > this.#stable && (!held || held.view <= record.entry.view)) this.#prepared.set(record.entry.seq, record.entry);
        return false;
      }
      case "preprepared": {
        const key = `${record.entry.seq}|${record.entry.digest}`;
        const held = this.#prePrepared.get(key);
        if (record.entry.seq > this.#stable && (!held || held.view < record.entry.view)) this.#prePrepared.set(key, record.entry);
        return false;
      }
      case "stable": {
        if (record.seq <= this.#stable) return false;
        this.#stable = record.seq;
        for (const seq of [...this.#prepared.keys()]) if (seq <= record.seq) this.#prepared.delete(seq);
        for (const [key, entry] of [...this.#prePrepared]) if (entry.seq <= record.seq) this.#prePrepared.delete(key);
        return true;
      }
    }
  }

  recovered(): { prepared: PreparedEntry[]; prePrepared: CertEntry[] } {
    return { prepared: [...this.#prepared.values()], prePrepared: [...this.#prePrepared.values()] };
  }

  /** The live records, enough to rebuild this log. */
  records(): PersistRecord[] {
    return [
      { type: "stable", seq: this.#stable },
      ...[...this.#prePrepared.values()].map((entry): PersistRecord => ({ type: "preprepared", entry })),
      ...[...this.#prepared.values()].map((entry): PersistRecord => ({ type: "prepared", entry })),
    ];
  }
}

/**
 * The PbftLog on disk, `data_dir/pbft-log.jsonl`: one record per line, appended without
 * an fsync of its own (a killed process loses nothing; the file is fsync'd in the
 * background like the pbft ledger), rewritten whole at each stable checkpoint. A torn
 * or unreadable line ends what is read.
 */
export class PbftLogFile {
  readonly log = new PbftLog();
  readonly #path: string;
  #fd: number;
  #syncTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(path: string) {
    this.#path = path;
    if (existsSync(path)) {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        if (line === "") continue;
        try {
          this.log.apply(JSON.parse(line) as PersistRecord);
        } catch {
          break;
        }
      }
    }
    this.#rewrite();
    this.#fd = openSync(path, "a");
  }

  append(record: PersistRecord): void {
    if (this.log.apply(record)) {
      closeSync(this.#fd);
      this.#rewrite();
      this.#fd = openSync(this.#path, "a");
      return;
    }
    writeSync(this.#fd, Buffer.from(`${JSON.stringify(record)}\n`, "utf8"));
    if (this.#syncTimer === undefined) {
      this.#syncTimer = setTimeout(() => {
        this.#syncTimer = undefined;
        fsync(this.#fd, () => {});
      }, 50);
    }
  }

  close(): void {
    clearTimeout(this.#syncTimer);
    closeSync(this.#fd);
  }

  #rewrite(): void {
    const temporary = `${this.#path}.tmp`;
    writeFileSync(temporary, this.log.records().map((record) => `${JSON.stringify(record)}\n`).join(""));
    renameSync(temporary, this.#path);
  }
}
