import { spawn, spawnSync, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { removeQuietly } from "../../src/drivers/docker/connect.ts";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { type DaemonProcess, daemonToml } from "./daemon-process.ts";

export const DOCKER_SOCKET = "/var/run/docker.sock";
export const docker = new Docker({ socketPath: DOCKER_SOCKET });

/**
 * Why the Docker tests cannot run here, or false when they can. Under CI=true a missing
 * engine is an error, not a skip: CI installs and starts one, and a skipped test there would
 * hide that it did not.
 */
export async function dockerSkipReason(): Promise<string | false> {
  try {
    await docker.ping();
    return false;
  } catch (err) {
    const why = `no Docker engine answers at ${DOCKER_SOCKET} (${(err as Error).message}); install docker.io and start dockerd to run these tests`;
    if (process.env["CI"]) throw new Error(`CI=true but ${why}`);
    return why;
  }
}

/** The instance id a daemon's database holds: its Docker resources carry it as a label. */
export function instanceOf(dataDir: string): string {
  const db = openBetterSqlite3(join(dataDir, "chainpool.db"));
  try {
    return db.prepare("SELECT value FROM meta WHERE key = 'instance_id'").get<{ value: string }>()!.value;
  } finally {
    db.close();
  }
}

const byInstance = (instance: string) => ({ filters: { label: [`${LABEL.instance}=${instance}`] } });

export async function containersOf(instance: string, engine: Docker = docker): Promise<Docker.ContainerInfo[]> {
  return engine.listContainers({ all: true, ...byInstance(instance) });
}

export async function networksOf(instance: string, engine: Docker = docker): Promise<Docker.NetworkInspectInfo[]> {
  return engine.listNetworks(byInstance(instance));
}

/** Removes everything a test daemon made on an engine (services, containers, secrets, networks, volumes). */
export async function removeInstance(instance: string, engine: Docker = docker): Promise<void> {
  // The drivers' own removal (gone counts as done, in-use is retried), but best effort: cleanup goes on.
  const quiet = (f: () => Promise<unknown>) => removeQuietly(f).catch(() => undefined);
  const info = await engine.info();
  if (info.Swarm?.ControlAvailable) {
    for (const s of await engine.listServices(byInstance(instance))) await quiet(() => engine.getService(s.ID!).remove());
    for (const s of await engine.listSecrets(byInstance(instance))) await quiet(() => engine.getSecret(s.ID).remove());
  }
  await Promise.all((await containersOf(instance, engine)).map((c) => quiet(() => engine.getContainer(c.Id).remove({ force: true, v: true }))));
  for (const n of await networksOf(instance, engine)) await quiet(() => engine.getNetwork(n.Id).remove());
  const { Volumes } = await engine.listVolumes(byInstance(instance));
  for (const v of Volumes ?? []) await quiet(() => engine.getVolume(v.Name).remove());
}

/** The TOML of one docker-type host. */
export function dockerHostToml(name: string, options: { type?: "docker" | "swarm"; socket?: string; capacity: number; autofill?: boolean; params?: string }): string {
  return `
[[hosts]]
name = "${name}"
type = "${options.type ?? "docker"}"
daemon_url = "unix://${options.socket ?? DOCKER_SOCKET}"
capacity = ${options.capacity}
autofill = ${options.autofill ?? true}
${options.params ? `params = ${options.params}` : ""}
`;
}

/**
 * A second Docker engine on this machine, as a second host: its own socket, data root, exec
 * root (so its own containerd), pid file and bridge. Started by the test, stopped after.
 */
export class SecondDockerd {
  readonly socket: string;
  readonly engine: Docker;
  #child: ChildProcess | undefined;
  readonly #dir: string;
  readonly #bridge = "cptestbr0";

  /** With `tlsPort`, it also listens on tcp://127.0.0.1:PORT with TLS and client certificates (--tlsverify). */
  readonly tlsPort: number | undefined;

  constructor(dir: string, options: { tlsPort?: number } = {}) {
    this.#dir = dir;
    this.socket = join(dir, "docker.sock");
    this.engine = new Docker({ socketPath: this.socket });
    this.tlsPort = options.tlsPort;
  }

  /** The CA, and a client certificate and key it signed, for the TLS listener. */
  get tlsFiles(): { ca: string; cert: string; key: string } {
    const tls = join(this.#dir, "tls");
    return { ca: join(tls, "ca.pem"), cert: join(tls, "client-cert.pem"), key: join(tls, "client-key.pem") };
  }

  /** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, with openssl. */
  #makeCertificates(): string[] {
    const tls = join(this.#dir, "tls");
    mkdirSync(tls, { recursive: true });
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: tls, stdio: "ignore" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    ssl("req", "-x509", ...ec, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=chainpool test CA");
    for (const [who, ext] of [["server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"], ["client", "extendedKeyUsage=clientAuth"]] as const) {
      writeFileSync(join(tls, `${who}.ext`), `${ext}\n`);
      ssl("req", ...ec, "-keyout", `${who}-key.pem`, "-out", `${who}.csr`, "-subj", `/CN=${who}`);
      ssl("x509", "-req", "-in", `${who}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", `${who}-cert.pem`, "-days", "2", "-extfile", `${who}.ext`);
    }
    return [
      "-H", `tcp://127.0.0.1:${this.tlsPort}`, "--tlsverify",
      "--tlscacert", join(tls, "ca.pem"), "--tlscert", join(tls, "server-cert.pem"), "--tlskey", join(tls, "server-key.pem"),
    ];
  }

  /** The subnet pool its clusters get (params.subnet_pool of its host in the tests). */
  static readonly SUBNET_POOL = "10.210.0.0/16";

  async start(): Promise<void> {
    mkdirSync(this.#dir, { recursive: true });
    // Bridges of an earlier second engine that did not stop cleanly would shadow this one's routes.
    const links = JSON.parse(execFileSync("ip", ["-j", "addr", "show", "type", "bridge"], { encoding: "utf8" })) as Array<{ ifname: string; addr_info?: Array<{ local: string }> }>;
    for (const link of links) {
      if (link.ifname.startsWith("br-") && link.addr_info?.some((a) => a.local.startsWith("10.210."))) execFileSync("ip", ["link", "del", link.ifname]);
    }
    if (!existsSync(`/sys/class/net/${this.#bridge}`)) {
      execFileSync("ip", ["link", "add", this.#bridge, "type", "bridge"]);
      execFileSync("ip", ["addr", "add", "172.29.0.1/24", "dev", this.#bridge]);
      execFileSync("ip", ["link", "set", this.#bridge, "up"]);
    }
    // In this network namespace the main engine owns iptables, and a second engine flushes the
    // DOCKER, DOCKER-ISOLATION-STAGE-* and nat DOCKER chains as it starts: networks of the main
    // engine that exist then (another test file's clusters) would lose their isolation and their
    // published ports. Note the rules now and put back what the start removed.
    const rulesBefore = iptablesRules();
    const log = openSync(join(this.#dir, "dockerd.log"), "a");
    this.#child = spawn(
      "dockerd",
      [
        "-H", `unix://${this.socket}`, ...(this.tlsPort !== undefined ? this.#makeCertificates() : []),
        "--data-root", join(this.#dir, "data"), "--exec-root", join(this.#dir, "exec"), "--pidfile", join(this.#dir, "docker.pid"), "--bridge", this.#bridge,
      ],
      { stdio: ["ignore", log, log] },
    );
    closeSync(log);
    await waitFor("the second dockerd", async () => {
      try {
        await this.engine.ping();
        return true;
      } catch {
        return false;
      }
    }, 30_000);
    restoreIptablesRules(rulesBefore);
  }

  /** Freezes the engine (SIGSTOP): it stops answering, as a hung or unreachable one would. */
  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  resume(): void {
    this.#child?.kill("SIGCONT");
  }

  async stop(): Promise<void> {
    this.resume();
    // The kernel keeps an engine's bridges after it exits; the next engine's networks would
    // then have two routes to one subnet. Note them now, delete them once it is gone.
    const bridges: string[] = [];
    try {
      for (const n of await this.engine.listNetworks({ filters: { driver: ["bridge"] } })) {
        if (!["bridge", "host", "none"].includes(n.Name)) bridges.push(`br-${n.Id.slice(0, 12)}`);
      }
    } catch {
      /* not running */
    }
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((done) => {
        child.once("exit", () => done());
        child.kill("SIGTERM");
      });
    }
    for (const bridge of [...bridges, this.#bridge]) {
      try {
        execFileSync("ip", ["link", "del", bridge], { stdio: "ignore" });
      } catch {
        /* already gone */
      }
    }
    // Container filesystems an interrupted shutdown left mounted would make the rm fail.
    const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "").filter((m) => m.startsWith(this.#dir));
    for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Every rule of the filter and nat tables as `iptables-save` writes it, by table ("filter\t-A CHAIN ..."). */
function iptablesRules(): Set<string> {
  const rules = new Set<string>();
  let table = "";
  for (const line of execFileSync("iptables-save", ["-t", "filter"], { encoding: "utf8" }).concat(execFileSync("iptables-save", ["-t", "nat"], { encoding: "utf8" })).split("\n")) {
    if (line.startsWith("*")) table = line.slice(1);
    else if (line.startsWith("-A ")) rules.add(`${table}\t${line}`);
  }
  return rules;
}

/**
 * Inserts again each rule of `before` that is gone now, unless an interface it names is gone
 * too (its network was removed meanwhile). Docker's rules carry no quoted arguments.
 */
function restoreIptablesRules(before: Set<string>): void {
  const now = iptablesRules();
  for (const rule of before) {
    if (now.has(rule)) continue;
    const [table, line] = rule.split("\t") as [string, string];
    const [, chain, ...args] = line.split(" ");
    const interfaces = args.filter((_, i) => args[i - 1] === "-i" || args[i - 1] === "-o");
    if (!interfaces.every((name) => existsSync(`/sys/class/net/${name}`))) continue;
    // Each chain Docker flushes ends in a catch-all RETURN that is still there: insert above it.
    execFileSync("iptables", ["-t", table, "-I", chain!, "1", ...args]);
  }
}

/** A daemon config for Docker tests: a minute for a cluster to come up, as they share two cores. */
export function dockerDaemonToml(hosts: string, more: { scheduler?: string; tables?: string } = {}): ReturnType<typeof daemonToml> {
  return daemonToml(hosts, { readyTimeoutS: 60, ...more });
}

/** Starts a test daemon and answers the instance id its Docker resources will carry. */
export async function startDockerDaemon(d: DaemonProcess): Promise<string> {
  await d.start();
  return instanceOf(join(d.dir, "data"));
}

/** Kills the daemon first (so it makes nothing more), removes its resources on each engine, then its files. */
export async function destroyDockerDaemon(d: DaemonProcess, instance: string, engines: Docker[] = [docker]): Promise<void> {
  await d.kill("SIGKILL");
  if (instance) for (const engine of engines) await removeInstance(instance, engine).catch(() => undefined);
  await d.destroy();
}

/**
 * Makes this engine a single-node swarm manager unless it is one already; answers how to undo
 * that (leave the swarm only if this call made it).
 */
export async function ensureSwarm(): Promise<() => void> {
  const info = await docker.info();
  if (info.Swarm?.LocalNodeState === "active") return () => undefined;
  execFileSync("docker", ["swarm", "init", "--advertise-addr", "127.0.0.1"], { stdio: "ignore" });
  return () => execFileSync("docker", ["swarm", "leave", "--force"], { stdio: "ignore" });
}
