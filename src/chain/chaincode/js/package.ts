import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import { esmToCommonJs, looksLikeEsModule } from "./esm-to-cjs.ts";
import { readTar } from "./tar.ts";

/**
 * A JavaScript chaincode package as the sandbox loads it: every module as CommonJS source
 * (ES modules rewritten, JSON wrapped), by its path inside the package, and the entry.
 */
export interface CodePackage {
  main: string;
  files: Record<string, string>;
}

export type PackageResult = { ok: true; pkg: CodePackage } | { ok: false; error: string };

/** A gzip'd tar may unpack to at most this much (a zip bomb stops here). */
const MAX_UNPACKED_BYTES = 8 * 1024 * 1024;
const MAX_FILES = 1_000;
const SOURCE_EXTENSIONS = /\.(js|cjs|mjs|json)$/;

/**
 * Reads a deploy's `codePackage`: base64 of one JavaScript file (CommonJS or ES module) or
 * of a gzip'd tar holding a package.json whose `main` names the entry (index.js without
 * one). Every answer on failure names what is wrong, for the deploy's error.
 */
export function parseCodePackage(base64: string, maxBytes: number): PackageResult {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 === 1) {
    return { ok: false, error: "params.codePackage is not base64" };
  }
  const bytes = Buffer.from(base64, "base64");
  if (bytes.length === 0) return { ok: false, error: "params.codePackage is empty" };
  if (bytes.length > maxBytes) return { ok: false, error: `params.codePackage holds ${bytes.length} bytes, more than the ${maxBytes} a package may have` };
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return parseTarball(bytes);
  const source = utf8Text(bytes);
  if (source === undefined) return { ok: false, error: "params.codePackage is neither JavaScript text (UTF-8) nor a gzip'd tar" };
  const esm = looksLikeEsModule(source);
  const file = esm ? "index.mjs" : "index.js";
  const converted = toCommonJs(file, source, esm);
  if (!converted.ok) return converted;
  return { ok: true, pkg: { main: file, files: { [file]: converted.code } } };
}

function parseTarball(gzipped: Buffer): PackageResult {
  let archive: Buffer;
  try {
    archive = gunzipSync(gzipped, { maxOutputLength: MAX_UNPACKED_BYTES });
  } catch (error: unknown) {
    const reason = error instanceof RangeError ? `it unpacks to more than ${MAX_UNPACKED_BYTES} bytes` : "it is not valid gzip";
    return { ok: false, error: `params.codePackage cannot be unpacked: ${reason}` };
  }
  const tar = readTar(archive);
  if (!tar.ok) return { ok: false, error: `params.codePackage is not a gzip'd tar: ${tar.error}` };
  const entries = tar.entries.map((entry) => ({ path: entry.path.replace(/^\.\//, ""), data: entry.data }));
  // npm pack puts everything under "package/"; tar czf of a directory under its name.
  const roots = new Set(entries.map((entry) => (entry.path.includes("/") ? entry.path.split("/")[0] : "")));
  const root = roots.size === 1 && !roots.has("") ? `${[...roots][0]}/` : "";
  const raw: Record<string, string> = {};
  for (const entry of entries) {
    const path = entry.path.slice(root.length);
    if (path.split("/").some((part) => part === ".." || part === "")) return { ok: false, error: `params.codePackage holds a file outside the package: ${entry.path}` };
    if (path.startsWith("node_modules/") || !SOURCE_EXTENSIONS.test(path)) continue;
    const text = utf8Text(entry.data);
    if (text === undefined) return { ok: false, error: `${path} in params.codePackage is not UTF-8 text` };
    raw[path] = text;
  }
  if (Object.keys(raw).length > MAX_FILES) return { ok: false, error: `params.codePackage holds more than ${MAX_FILES} source files` };
  let main = "index.js";
  let typeModule = false;
  const manifest = raw["package.json"];
  if (manifest !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(manifest);
    } catch (error: unknown) {
      return { ok: false, error: `package.json in params.codePackage is not JSON: ${error instanceof Error ? error.message : String(error)}` };
    }
    const fields = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
    if (fields["main"] !== undefined) {
      if (typeof fields["main"] !== "string" || fields["main"] === "") return { ok: false, error: "package.json in params.codePackage: main must be a non-empty string" };
      main = fields["main"].replace(/^\.\//, "");
    }
    typeModule = fields["type"] === "module";
  }
  const entry = [main, `${main}.js`, `${main}/index.js`].find((candidate) => raw[candidate] !== undefined);
  if (entry === undefined) {
    return { ok: false, error: `params.codePackage has no ${main} (the entry${manifest === undefined ? "; add a package.json whose main names it" : " package.json's main names"})` };
  }
  const files: Record<string, string> = {};
  for (const [path, text] of Object.entries(raw)) {
    if (path.endsWith(".json")) {
      files[path] = `module.exports = ${text};`;
      continue;
    }
    const esm = path.endsWith(".mjs") || (typeModule && path.endsWith(".js")) || (!path.endsWith(".cjs") && looksLikeEsModule(text));
    const converted = toCommonJs(path, text, esm);
    if (!converted.ok) return converted;
    files[path] = converted.code;
  }
  return { ok: true, pkg: { main: entry, files } };
}

function toCommonJs(path: string, source: string, esm: boolean): { ok: true; code: string } | { ok: false; error: string } {
  if (!esm) return { ok: true, code: source };
  const converted = esmToCommonJs(source);
  return converted.ok ? converted : { ok: false, error: `${path}: ${converted.error}` };
}

function utf8Text(bytes: Buffer): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
