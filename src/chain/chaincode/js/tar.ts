import { Buffer } from "node:buffer";

export interface TarEntry {
  path: string;
  data: Buffer;
}

export type TarResult = { ok: true; entries: TarEntry[] } | { ok: false; error: string };

const BLOCK = 512;

/**
 * Reads the regular files of a tar archive (ustar, with GNU long names and pax path
 * records, as `npm pack` and `tar czf` write them). Directories, links and other entry
 * types are skipped; the archive's own bounds are checked, never trusted.
 */
export function readTar(archive: Buffer): TarResult {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    if (!checksumMatches(header)) return { ok: false, error: `the tar header at byte ${offset} has a wrong checksum` };
    const size = parseOctal(header.subarray(124, 136));
    if (size === undefined) return { ok: false, error: `the tar header at byte ${offset} has an unreadable size` };
    const type = String.fromCharCode(header[156] ?? 0);
    const dataStart = offset + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > archive.length) return { ok: false, error: `the tar entry at byte ${offset} runs past the end of the archive` };
    const data = archive.subarray(dataStart, dataEnd);
    const name = text(header.subarray(0, 100));
    const prefix = header.subarray(257, 263).toString("latin1").startsWith("ustar") ? text(header.subarray(345, 500)) : "";
    if (type === "L") {
      longName = text(data);
    } else if (type === "x") {
      paxPath = paxValue(data, "path");
    } else if (type === "g") {
      // global pax header: nothing we use
    } else {
      const path = paxPath ?? longName ?? (prefix ? `${prefix}/${name}` : name);
      longName = undefined;
      paxPath = undefined;
      if (type === "0" || type === "\0" || type === "7") entries.push({ path, data: Buffer.from(data) });
    }
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  return { ok: true, entries };
}

function text(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString("utf8");
}

function parseOctal(bytes: Buffer): number | undefined {
  const raw = text(bytes).trim();
  if (raw === "") return 0;
  if (!/^[0-7]+$/.test(raw)) return undefined;
  return parseInt(raw, 8);
}

function checksumMatches(header: Buffer): boolean {
  const stored = parseOctal(header.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] ?? 0);
  return stored === sum;
}

function paxValue(data: Buffer, key: string): string | undefined {
  // records: "<length> <key>=<value>\n"
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) return undefined;
    const length = Number(data.subarray(at, space).toString("latin1"));
    if (!Number.isSafeInteger(length) || length <= 0) return undefined;
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const equals = record.indexOf("=");
    if (record.slice(0, equals) === key) return record.slice(equals + 1);
    at += length;
  }
  return undefined;
}
