/**
 * A chaincode package as `POST /chaincode` deploys it with `type: 2`: one JavaScript file as
 * it is, a .tar.gz given as it is, or a directory packed here into a gzip'd tar whose
 * package.json `main` names the entry (index.js without one). Packing is deterministic (sorted names, mtime 0,
 * fixed owner and mode), so the same sources make the same bytes and so the same chaincode
 * name, which the node derives from a hash of the package.
 */
import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join, posix } from "node:path";
import { buffer } from "node:stream/consumers";
import { gzipSync } from "node:zlib";
import { tarStream, type TarEntry } from "../lib/tar.ts";
import { usageError } from "./exit-codes.ts";

export interface ChaincodePackage {
  /** "file": one JavaScript file; "archive": a .tar.gz taken as is; "directory": packed here. */
  kind: "file" | "archive" | "directory";
  /** What `chaincodeID.path` says: package.json's name, else the file's or directory's base name. */
  label: string;
  /** The package itself, to be sent base64'd as `codePackage`. */
  bytes: Buffer;
  /** The files packed, relative to the directory ("directory" only; empty otherwise). */
  files: string[];
}

const SCRIPT_EXTENSIONS = new Set([".js", ".cjs", ".mjs"]);
/** Not packed from a directory: dependencies come from the sandbox, and dot files are tooling. */
const SKIPPED_DIRECTORIES = new Set(["node_modules"]);

/** Reads or packs the chaincode at `path`; a problem is a usage error naming the file. */
export async function packChaincode(path: string): Promise<ChaincodePackage> {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    throw usageError(`${path}: ${describeFsError(err)}`);
  }
  if (stat.isDirectory()) return packDirectory(path);
  if (!stat.isFile()) throw usageError(`${path}: not a file or a directory`);
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw usageError(`${path}: the file is empty`);
  const name = basename(path);
  if (/\.(tgz|tar\.gz)$/i.test(name)) {
    if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) throw usageError(`${path}: named like a .tar.gz but not gzip data`);
    return { kind: "archive", label: name.replace(/\.(tgz|tar\.gz)$/i, ""), bytes, files: [] };
  }
  const extension = extname(name).toLowerCase();
  if (extension === ".ts" || extension === ".mts" || extension === ".cts") {
    throw usageError(`${path}: TypeScript; compile it to JavaScript first (tsc) and deploy the .js file or its directory`);
  }
  if (!SCRIPT_EXTENSIONS.has(extension)) {
    throw usageError(`${path}: expected a JavaScript file (.js, .cjs, .mjs), a .tar.gz package or a directory with a package.json`);
  }
  return { kind: "file", label: name.slice(0, -extension.length), bytes, files: [] };
}

async function packDirectory(dir: string): Promise<ChaincodePackage> {
  const manifestPath = join(dir, "package.json");
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw usageError(`${manifestPath}: missing; a chaincode directory needs a package.json whose "main" names the entry file`);
    }
    throw usageError(`${manifestPath}: ${err instanceof SyntaxError ? `not valid JSON (${err.message})` : describeFsError(err)}`);
  }
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) throw usageError(`${manifestPath}: not a JSON object`);
  const { main, name } = manifest as Record<string, unknown>;
  if (main !== undefined && (typeof main !== "string" || main === "")) throw usageError(`${manifestPath}: "main" must name the entry file, e.g. "main": "index.js"`);

  const files = listFiles(dir).sort();
  // Without "main", require() and the sandbox take index.js, as npm does.
  const entry = resolveMain(main ?? "index.js", new Set(files));
  if (entry === undefined) {
    throw usageError(
      main === undefined
        ? `${manifestPath}: no "main", and no index.js to take instead; name the entry file, e.g. "main": "lib/start.js"`
        : `${manifestPath}: "main" names ${JSON.stringify(main)}, which is not in the package (${files.length} files packed from ${dir})`,
    );
  }

  const entries: TarEntry[] = files.map((file) => ({ kind: "data", name: file, data: readFileSync(join(dir, file)), mode: 0o644 }));
  const tar = await buffer(tarStream(entries));
  const label = typeof name === "string" && name !== "" ? name : basename(dir.replace(/\/+$/, "")) || "chaincode";
  return { kind: "directory", label, bytes: gzipSync(tar, { level: 9 }), files };
}

/** Every file under `dir`, relative with `/`, skipping dot files and node_modules; symlinks to files are followed. */
function listFiles(dir: string, prefix = ""): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const relative = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    const full = join(dir, relative);
    let isDirectory = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      let target;
      try {
        target = statSync(full);
      } catch (err) {
        throw usageError(`${full}: ${describeFsError(err)} (a dangling symlink)`);
      }
      if (target.isDirectory()) throw usageError(`${full}: a symlink to a directory; copy the directory in instead`);
      isDirectory = false;
    }
    if (isDirectory) {
      if (!SKIPPED_DIRECTORIES.has(entry.name)) found.push(...listFiles(dir, relative));
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      found.push(relative);
    } else if (!lstatSync(full).isFile()) {
      throw usageError(`${full}: not a regular file`);
    }
  }
  return found;
}

/** The file `main` resolves to, as require() would resolve it: as is, with .js, or as a directory's index.js. */
function resolveMain(main: string, files: ReadonlySet<string>): string | undefined {
  const normal = posix.normalize(main.replace(/\\/g, "/")).replace(/^\.\//, "").replace(/\/$/, "");
  return [normal, `${normal}.js`, `${normal}/index.js`].find((candidate) => files.has(candidate));
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES") return "permission denied";
  return (err as Error).message;
}
