import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { removeQuietly } from "../../src/drivers/docker/connect.ts";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { after, before } from "node:test";
import { DaemonProcess, daemonToml } from "./daemon-process.ts";
import { commandLine, ip, netnsPids, quietly, removeCgroups, spawnDockerdInNetns, untilEngineAnswers, withDescendants } from "./netns.ts";

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
 * A second Docker engine on this machine, as a second host reached the way a remote one is: in
 * a network namespace of its own (so its iptables, bridges and routes are its own, and its
 * start cannot touch the main engine's rules: test/helpers/netns.ts), joined to this one by a
 * veth (HOST_ADDRESS here, ADDRESS there). Its own socket, data root, exec root (so its own
 * containerd) and pid file. Started by the test, stopped after.
 */
export class SecondDockerd {
  static readonly NAMESPACE = "cpd2";
  /** The engine's address, where its TLS listener and its published ports answer. */
  static readonly ADDRESS = "172.29.0.2";
  static readonly #HOST_LINK = "cpd2-host";
  static readonly #HOST_ADDRESS = "172.29.0.1";

  /** The subnet pool its clusters get (params.subnet_pool of its host in the tests). */
  static readonly SUBNET_POOL = "10.210.0.0/16";

  readonly socket: string;
  readonly engine: Docker;
  readonly #dir: string;

  /** With `tlsPort`, it also listens on tcp://ADDRESS:PORT with TLS and client certificates (--tlsverify). */
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

  /** A throwaway CA, a server certificate for ADDRESS and a client certificate, with openssl. */
  #makeCertificates(): string[] {
    const tls = join(this.#dir, "tls");
    mkdirSync(tls, { recursive: true });
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: tls, stdio: "ignore" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    ssl("req", "-x509", ...ec, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=chainpool test CA");
    for (const [who, ext] of [["server", `subjectAltName=IP:${SecondDockerd.ADDRESS}\nextendedKeyUsage=serverAuth`], ["client", "extendedKeyUsage=clientAuth"]] as const) {
      writeFileSync(join(tls, `${who}.ext`), `${ext}\n`);
      ssl("req", ...ec, "-keyout", `${who}-key.pem`, "-out", `${who}.csr`, "-subj", `/CN=${who}`);
      ssl("x509", "-req", "-in", `${who}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", `${who}-cert.pem`, "-days", "2", "-extfile", `${who}.ext`);
    }
    return [
      "-H", `tcp://${SecondDockerd.ADDRESS}:${this.tlsPort}`, "--tlsverify",
      "--tlscacert", join(tls, "ca.pem"), "--tlscert", join(tls, "server-cert.pem"), "--tlskey", join(tls, "server-key.pem"),
    ];
  }

  async start(): Promise<void> {
    await SecondDockerd.#removeNamespace();
    mkdirSync(this.#dir, { recursive: true });
    const ns = SecondDockerd.NAMESPACE;
    ip("netns", "add", ns);
    ip("link", "add", SecondDockerd.#HOST_LINK, "type", "veth", "peer", "name", "eth0", "netns", ns);
    ip("addr", "add", `${SecondDockerd.#HOST_ADDRESS}/24`, "dev", SecondDockerd.#HOST_LINK);
    ip("link", "set", SecondDockerd.#HOST_LINK, "up");
    ip("-n", ns, "link", "set", "lo", "up");
    ip("-n", ns, "addr", "add", `${SecondDockerd.ADDRESS}/24`, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    const args = [
      "-H", `unix://${this.socket}`, ...(this.tlsPort !== undefined ? this.#makeCertificates() : []),
      "--data-root", join(this.#dir, "data"), "--exec-root", join(this.#dir, "exec"), "--pidfile", join(this.#dir, "docker.pid"),
    ];
    spawnDockerdInNetns(ns, args, join(this.#dir, "dockerd.log"));
    await untilEngineAnswers(this.engine, "the second dockerd", () => readFileSync(join(this.#dir, "dockerd.log"), "utf8"));
  }

  /** The engine's dockerd, by the pid file it wrote. */
  #pid(): number {
    return Number(readFileSync(join(this.#dir, "docker.pid"), "utf8").trim());
  }

  /** Freezes the engine (SIGSTOP): it stops answering, as a hung or unreachable one would. */
  pause(): void {
    process.kill(this.#pid(), "SIGSTOP");
  }

  resume(): void {
    quietly(() => process.kill(this.#pid(), "SIGCONT"));
  }

  /** The engine stops (its containers with it) and its namespace, cgroups and files are removed. */
  async stop(): Promise<void> {
    this.resume();
    await SecondDockerd.#removeNamespace();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /**
   * Ends every process in the namespace (dockerd gracefully first, then whatever is left, with
   * its containerd's shims' children) and removes the namespace, its veth and its cgroups: safe
   * on nothing, and what a crashed earlier run left is removed the same way.
   */
  static async #removeNamespace(): Promise<void> {
    const ns = SecondDockerd.NAMESPACE;
    const dockerd = netnsPids(ns).find((pid) => commandLine(pid).startsWith("dockerd "));
    if (dockerd !== undefined) {
      quietly(() => process.kill(dockerd, "SIGTERM"));
      await waitFor("the second dockerd to stop", () => !existsSync(`/proc/${dockerd}`), 30_000).catch(() => undefined);
    }
    await waitFor(`the processes of namespace ${ns} to end`, () => {
      const left = withDescendants(netnsPids(ns));
      for (const pid of left) quietly(() => process.kill(pid, "SIGKILL"));
      return left.length === 0;
    }, 30_000);
    quietly(() => ip("netns", "del", ns));
    quietly(() => ip("link", "del", SecondDockerd.#HOST_LINK));
    removeCgroups(ns);
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
 * For the describe it is called in: this engine made a single-node swarm manager (unless it is
 * one already; it leaves the swarm after only if this made it), and a test daemon with one swarm
 * host on it (capacity 1, health_failures 3), destroyed after with everything it made. Its
 * daemon and instance id are there once `before` has run.
 */
export function useSwarmDaemon(): { readonly d: DaemonProcess; readonly instance: string } {
  let d: DaemonProcess | undefined;
  let instance = "";
  let leaveSwarm: () => void = () => undefined;
  before(async () => {
    leaveSwarm = await ensureSwarm();
    d = await DaemonProcess.create(dockerDaemonToml(dockerHostToml("swarm", { type: "swarm", capacity: 1 }), { scheduler: "health_failures = 3\n" }));
    instance = await startDockerDaemon(d);
  });
  after(async () => {
    if (d) await destroyDockerDaemon(d, instance);
    leaveSwarm();
  });
  return {
    get d() {
      if (!d) throw new Error("the swarm daemon is made in before()");
      return d;
    },
    get instance() {
      return instance;
    },
  };
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
