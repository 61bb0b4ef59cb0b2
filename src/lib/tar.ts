import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";

/** One tar member: a file from disk, bytes in memory, or a directory. */
export type TarEntry =
  | { name: string; kind: "file"; source: string; mode?: number; uid?: number; gid?: number }
  | { name: string; kind: "data"; data: Uint8Array | string; mode?: number; uid?: number; gid?: number }
  | { name: string; kind: "dir"; mode?: number; uid?: number; gid?: number };

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** A POSIX ustar header; long names are split into prefix and name as the format allows. */
function header(name: string, size: number, type: "0" | "5", mode: number, uid: number, gid: number): Buffer {
  let prefix = "";
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar: name too long: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  const h = Buffer.alloc(BLOCK);
  h.write(base, 0, 100, "utf8");
  h.write(octal(mode & 0o7777, 8), 100, "ascii");
  h.write(octal(uid, 8), 108, "ascii");
  h.write(octal(gid, 8), 116, "ascii");
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(0, 12), 136, "ascii");
  h.write("        ", 148, "ascii"); // checksum is computed with its own field as spaces
  h.write(type, 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + " ", 148, "ascii");
  return h;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/**
 * Streams a tar archive of the entries; file contents are read from disk as they are sent, so
 * a 100 MB runtime is never held in memory. Enough of tar for Docker's build context and
 * archive upload (the docker driver) and for chaincode packages (the CLI); no dependency
 * needed for 60 lines. Every member's mtime is 0, so the same entries make the same bytes.
 */
export function tarStream(entries: readonly TarEntry[]): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    for (const e of entries) {
      const uid = e.uid ?? 0;
      const gid = e.gid ?? 0;
      if (e.kind === "dir") {
        yield header(e.name.endsWith("/") ? e.name : `${e.name}/`, 0, "5", e.mode ?? 0o755, uid, gid);
      } else if (e.kind === "data") {
        const data = typeof e.data === "string" ? Buffer.from(e.data) : Buffer.from(e.data);
        yield header(e.name, data.length, "0", e.mode ?? 0o644, uid, gid);
        yield data;
        yield padding(data.length);
      } else {
        const size = statSync(e.source).size;
        yield header(e.name, size, "0", e.mode ?? 0o644, uid, gid);
        let sent = 0;
        for await (const chunk of createReadStream(e.source)) {
          sent += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (sent !== size) throw new Error(`tar: ${e.source} changed size while being read`);
        yield padding(size);
      }
    }
    yield Buffer.alloc(BLOCK * 2);
  }
  return Readable.from(generate(), { objectMode: false });
}
