import { Buffer } from "node:buffer";
import { closeSync, fstatSync, openSync, renameSync, writeSync } from "node:fs";

export interface RotatingLogFileOptions {
  /** The log file; appended to, created if missing. */
  path: string;
  /** Size at which the file is renamed to `${path}.1` (replacing it) and started afresh. */
  maxBytes: number;
}

/**
 * The node's own log file, bounded: a line that would take it past `maxBytes` first moves
 * it to `${path}.1`, so the two files never hold more than twice the cap. The node writes
 * it itself (rather than a parent redirecting stdout) because only the writer can rotate
 * a file safely. Lines are written synchronously, as stdout to a file is, so nothing is
 * lost when the process exits right after logging. A write that fails (disk full) drops
 * the line: the node keeps serving without its log rather than dying of it.
 */
export class RotatingLogFile {
  readonly #options: RotatingLogFileOptions;
  #fd: number | undefined;
  #size: number;

  constructor(options: RotatingLogFileOptions) {
    this.#options = options;
    // Throws here, at start, when the file cannot be opened at all.
    this.#fd = openSync(options.path, "a", 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  write(line: string): void {
    const bytes = Buffer.from(line, "utf8");
    if (this.#size > 0 && this.#size + bytes.length > this.#options.maxBytes) this.#rotate();
    if (this.#fd === undefined) this.#reopen();
    if (this.#fd === undefined) return;
    try {
      writeSync(this.#fd, bytes);
      this.#size += bytes.length;
    } catch {
      // Disk full or the file system gone: this line is lost, the next one tries again.
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #rotate(): void {
    const { path } = this.#options;
    this.close();
    try {
      renameSync(path, `${path}.1`);
    } catch {
      // Removed by someone else: start a new file all the same.
    }
    this.#reopen();
  }

  #reopen(): void {
    try {
      this.#fd = openSync(this.#options.path, "a", 0o600);
      this.#size = fstatSync(this.#fd).size;
    } catch {
      this.#fd = undefined;
      this.#size = 0;
    }
  }
}
