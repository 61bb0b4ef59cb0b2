/** `chainpool down`: stop the daemon together with its local clusters' nodes, or their leftovers. */
import { existsSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfigFile } from "../config/load.ts";
import { countNodes, findNodeProcesses, isRunning, terminate } from "../lib/node-processes.ts";
import { positional, type Command } from "./command.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { json } from "./output.ts";

const DEFAULT_DATA_DIR = "data";
const DEFAULT_LISTEN = "127.0.0.1:8080";
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

interface ShutdownAnswer {
  pid: number;
  data_dir: string;
  local_nodes: { nodes: number; clusters: number };
  other_clusters_running: number;
}

type Count = { nodes: number; clusters: number };

const real = (path: string) => {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
};

const nodesText = ({ nodes, clusters }: Count) => `${nodes} local node${nodes === 1 ? "" : "s"} (${clusters} cluster${clusters === 1 ? "" : "s"})`;

/**
 * Is anything listening at the daemon's address? Only a refused connection says no: a
 * timeout may be a daemon too busy to answer, whose nodes must not be killed under it.
 */
async function listening(url: string, timeoutMs: number): Promise<boolean> {
  try {
    await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return true;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return !(cause?.code === "ECONNREFUSED" || /connection refused/i.test((err as Error).message));
  }
}

/** Kills the node processes of a data directory that no daemon runs any more. */
async function stopLeftovers(dataDir: string): Promise<Count> {
  const found = findNodeProcesses(join(dataDir, "clusters"));
  await terminate(found.map((p) => p.pid));
  return countNodes(found);
}

export const downCommand: Command = {
  usage: "[--data DIR]",
  summary: "stop the daemon with its local clusters' nodes (docker and swarm clusters keep running); with no daemon running, the nodes it left under --data DIR",
  options: { data: { type: "string" } },
  async run(ctx) {
    positional(ctx, [], `down ${this.usage}`);
    const dataFlag = ctx.flags["data"] as string | undefined;
    const configFile = ctx.flags["config"] as string | undefined;
    const dataDir = real(dataFlag ?? (configFile ? loadConfigFile(configFile).data_dir : DEFAULT_DATA_DIR));
    const client = ctx.client();

    if (!(await listening(client.url, ctx.timeoutMs))) {
      // No daemon: what is left to stop are the nodes a stopped daemon kept running.
      const stopped = await stopLeftovers(dataDir);
      if (ctx.json) ctx.io.out(json({ daemon: { url: client.url, running: false }, data_dir: dataDir, local_nodes_stopped: stopped }));
      else if (stopped.nodes === 0) ctx.io.out(`down: no daemon at ${client.url}, and no local nodes of ${dataDir} running; nothing to stop\n`);
      else ctx.io.out(`down: no daemon at ${client.url}; stopped ${nodesText(stopped)} of ${dataDir} left running; the next start starts those clusters again\n`);
      return EXIT.OK;
    }

    // A daemon: it stops its own nodes, once nothing of it can start one any more. With --data,
    // a daemon serving another directory refuses (exit 1) and nothing stops.
    const answer = await client.call<ShutdownAnswer>("POST", "/api/shutdown", { stop_local_nodes: true, ...(dataFlag !== undefined && { data_dir: dataDir }) });
    // Its process can be watched only from its own machine: a loopback address and its files here.
    const host = new URL(client.url).hostname;
    const local = LOOPBACK.test(host) && existsSync(join(answer.data_dir, "chainpool.db"));
    const deadline = Date.now() + ctx.timeoutMs;
    while ((local && isRunning(answer.pid)) || (await listening(client.url, ctx.timeoutMs))) {
      if (Date.now() > deadline) {
        throw new CliError(EXIT.TIMEOUT, `down: the daemon at ${client.url} (pid ${answer.pid}) is still stopping after ${ctx.timeoutMs / 1000} s; see its log`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // A daemon that overran its shutdown limit exits without killing its nodes: finish its work.
    const leftover = local ? await stopLeftovers(answer.data_dir) : { nodes: 0, clusters: 0 };

    if (ctx.json) {
      ctx.io.out(
        json({
          daemon: { url: client.url, pid: answer.pid, stopped: true },
          data_dir: answer.data_dir,
          local_nodes_stopped: answer.local_nodes,
          leftover_nodes_stopped: leftover,
          other_clusters_running: answer.other_clusters_running,
        }),
      );
      return EXIT.OK;
    }
    const lines = [`down: stopped the daemon at ${client.url} (pid ${answer.pid}) and its ${nodesText(answer.local_nodes)}; the next start starts those clusters again`];
    if (leftover.nodes > 0) lines.push(`down: stopped ${nodesText(leftover)} the daemon left running`);
    if (answer.other_clusters_running > 0) {
      lines.push(`down: ${answer.other_clusters_running} docker/swarm cluster${answer.other_clusters_running === 1 ? "" : "s"} keep running; the next start adopts them`);
    }
    ctx.io.out(lines.join("\n") + "\n");
    return EXIT.OK;
  },
};

/** How the running daemon was started, as far as the command that stops its nodes needs. */
export interface DownCommandLineOptions {
  /** The program, as a person would type it: ["npm", "start", "--"], ["/usr/local/bin/chainpool"]... */
  program: readonly string[];
  /** The config file given to serve, if any, and the data directory it names when that is an absolute path. */
  configFile?: string;
  configDataDir?: string;
  /** The daemon's listen address and absolute data directory. */
  listen: string;
  dataDir: string;
  /** The directory the command will be run from (where `./data` is the default data directory). */
  cwd: string;
}

const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/**
 * The `down` command line that stops this daemon's nodes, for the line a stopping daemon
 * prints: the shortest one that names this instance (its config, address and data directory
 * only where they differ from the defaults).
 */
export function downCommandLine(o: DownCommandLineOptions): string {
  const words = [...o.program, "down"];
  if (o.configFile !== undefined) words.push("--config", o.configFile);
  else if (o.listen !== DEFAULT_LISTEN) words.push("--url", `http://${o.listen.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:")}`);
  // What down would take without --data (a relative data_dir in a config is relative to where down runs).
  const defaultDir = o.configFile !== undefined ? o.configDataDir : resolve(o.cwd, DEFAULT_DATA_DIR);
  if (o.dataDir !== defaultDir) words.push("--data", o.dataDir);
  return words.map(shellWord).join(" ");
}
