import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { basename, delimiter, dirname, extname, isAbsolute, join } from "node:path";
import type Docker from "dockerode";
import { VERSION } from "../../lib/version.ts";
import { type NodeLayout, URL_SECRET_FILE } from "../node-configs.ts";
import { NODE_PORT } from "./labels.ts";
import { tarStream, type TarEntry } from "../../lib/tar.ts";

/** The user every node container runs as: not root, owns /data and /config only. */
export const NODE_UID = 65532;
/** Where a node's config file goes in its container. */
export const CONFIG_DIR = "/config";
export const DATA_DIR = "/data";

/** Inside a node container: every node on NODE_PORT, peers by their names on the cluster's network. */
export const CONTAINER_LAYOUT: NodeLayout = {
  listen: () => ({ host: "0.0.0.0", port: NODE_PORT }),
  peerUrl: (node) => `http://${node}:${NODE_PORT}`,
  dataDir: () => DATA_DIR,
  urlSecretFile: () => `${CONFIG_DIR}/${URL_SECRET_FILE}`,
};

/** What the node image holds and how it starts a node, plus the tag naming that content. */
export interface NodeImageSource {
  tag: string;
  entries: TarEntry[];
  entrypoint: string[];
}

function which(cmd: string): string {
  if (isAbsolute(cmd)) return cmd;
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    const candidate = join(dir, cmd);
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error(`node command ${cmd} not found on PATH`);
}

/** Shared libraries an ELF executable loads, as ldd resolves them on this machine. */
function sharedLibraries(exe: string): string[] {
  let out: string;
  try {
    out = execFileSync("ldd", [exe], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const text = `${(err as { stdout?: string }).stdout ?? ""}${(err as { stderr?: string }).stderr ?? ""}`;
    if (/not a dynamic executable|statically linked/.test(text)) return [];
    throw new Error(`cannot list the shared libraries of ${exe} with ldd: ${text.trim() || (err as Error).message}`);
  }
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

async function hashFile(hash: ReturnType<typeof createHash>, file: string): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/** Files beside `file` named `<its stem>-*<its extension>`, sorted: a split bundle's chunks. */
function chunksOf(file: string): string[] {
  const ext = extname(file);
  const stem = basename(file, ext);
  if (ext === "") return [];
  return readdirSync(dirname(file))
    .filter((name) => name.startsWith(`${stem}-`) && name.endsWith(ext))
    .sort()
    .map((name) => join(dirname(file), name));
}

/**
 * The node image is made from what this daemon runs nodes with (its `local.node_command`):
 * the runtime executable with the shared libraries it loads, and every file argument (the
 * chain node bundle). Nothing is pulled from a registry. The tag carries the chainpool
 * version and a hash of the content, so a host builds it again only when it is missing.
 */
export async function nodeImageSource(nodeCommand: readonly string[]): Promise<NodeImageSource> {
  if (nodeCommand.length === 0) throw new Error("empty node command");
  const exe = realpathSync(which(nodeCommand[0]!));
  const files: { source: string; name: string; mode: number }[] = [{ source: exe, name: `chainpool/bin/${basename(exe)}`, mode: 0o755 }];
  for (const lib of sharedLibraries(exe)) files.push({ source: realpathSync(lib), name: lib.slice(1), mode: 0o755 });
  const entrypoint = [`/chainpool/bin/${basename(exe)}`];
  for (const arg of nodeCommand.slice(1)) {
    if (isAbsolute(arg) && existsSync(arg) && statSync(arg).isFile()) {
      files.push({ source: arg, name: `chainpool/lib/${basename(arg)}`, mode: 0o644 });
      // The bundle's chunks, loaded on demand beside it (scripts/build-node.ts).
      for (const chunk of chunksOf(arg)) files.push({ source: chunk, name: `chainpool/lib/${basename(chunk)}`, mode: 0o644 });
      entrypoint.push(`/chainpool/lib/${basename(arg)}`);
    } else {
      entrypoint.push(arg);
    }
  }
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ entrypoint, names: files.map((f) => f.name), uid: NODE_UID }));
  for (const f of files) await hashFile(hash, f.source);
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.name.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const entries: TarEntry[] = [
    ...[...dirs].sort().map((name): TarEntry => ({ kind: "dir", name })),
    ...files.map((f): TarEntry => ({ kind: "file", ...f })),
    { kind: "dir", name: "tmp", mode: 0o1777 },
    { kind: "dir", name: "etc" },
    { kind: "data", name: "etc/passwd", data: `chainnode:x:${NODE_UID}:${NODE_UID}::${DATA_DIR}:/sbin/nologin\n` },
    { kind: "dir", name: DATA_DIR.slice(1), mode: 0o700, uid: NODE_UID, gid: NODE_UID },
    { kind: "dir", name: CONFIG_DIR.slice(1), mode: 0o700, uid: NODE_UID, gid: NODE_UID },
  ];
  return { tag: `chainpool-node:${VERSION}-${hash.digest("hex").slice(0, 16)}`, entries, entrypoint };
}

/**
 * Makes sure the engine has the node image; imports it from the root filesystem tar when
 * missing. The tag names the content (its hash), so a present tag is the same image. Answers
 * whether it imported.
 */
export async function ensureNodeImage(docker: Docker, source: NodeImageSource): Promise<boolean> {
  try {
    await docker.getImage(source.tag).inspect();
    return false;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  const [repo, tag] = source.tag.split(":") as [string, string];
  const stream = await docker.importImage(tarStream(source.entries), {
    repo,
    tag,
    changes: [`USER ${NODE_UID}:${NODE_UID}`, `WORKDIR ${DATA_DIR}`, `ENTRYPOINT ${JSON.stringify(source.entrypoint)}`],
  });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
      const failed = output?.find((o) => o.error);
      if (err || failed) reject(err ?? new Error(failed!.error));
      else resolve();
    });
  });
  await docker.getImage(source.tag).inspect();
  return true;
}
