import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import Docker from "dockerode";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { commandLine, ip, processIds, quietly, removeCgroups, spawnDockerdInNetns, untilEngineAnswers, withDescendants } from "./netns.ts";

/**
 * A real multi-node Docker Swarm on this machine: one dockerd per swarm node, each in a
 * network namespace of its own, joined by a bridge in yet another namespace (a bridge in the
 * root namespace has its traffic dropped by br_netfilter and the main engine's FORWARD DROP).
 * The root namespace reaches every node through a veth at NET.1, so a daemon running here
 * talks to each engine's socket and to the ports the nodes publish.
 *
 * Nothing here touches the main engine (/var/run/docker.sock) or its networks: each dockerd
 * has its own data root, exec root, pid file, socket, bridge address, address pools and
 * cgroup parent, and its iptables are its namespace's own. Processes are ended only by the
 * pid files this harness had its dockerds write (checked against their command line), or by
 * the exec root it gave them (their containerd and shims). Every name carries PREFIX, so the
 * leftovers of a crashed earlier run are found and removed before a start.
 *
 * Traps it avoids (../../../shared/recipes/multinode-swarm.md): `ip netns exec` remounts /sys,
 * so the cgroup hierarchies are mounted again inside before dockerd starts; the nodes have no
 * default route (nothing leaves the node subnet) and no registry, so dockerd prefers local
 * images; there is no IPVS, so only dnsrr services with host-mode ports work.
 */
const PREFIX = "cpms";
/** The nodes' subnet: the root namespace is .1, node i (1-based) is .10+i. */
const NET = "10.233.0";
const STATE = `/run/${PREFIX}`;
const DATA = `/var/lib/${PREFIX}`;
const SWARM_ADDR_POOL = "10.236.0.0/16";
const processAlive = (pid: number) => existsSync(`/proc/${pid}`);

export interface SwarmMachine {
  /** 1-based, as in its names: cpms-n1 is the manager. */
  readonly index: number;
  readonly name: string;
  /** Its address on the nodes' subnet, where its host-mode ports answer. */
  readonly address: string;
  readonly socket: string;
  /** `unix:///run/cpms/nI.sock`, as a host's daemon_url or node_engines entry. */
  readonly url: string;
  readonly engine: Docker;
  /** Its swarm node id, known once it is in the swarm. */
  nodeId: string;
}

export class MultiNodeSwarm {
  readonly machines: SwarmMachine[];

  private constructor(count: number) {
    this.machines = Array.from({ length: count }, (_, k) => {
      const index = k + 1;
      const socket = `${STATE}/n${index}.sock`;
      return { index, name: `${PREFIX}-n${index}`, address: `${NET}.${10 + index}`, socket, url: `unix://${socket}`, engine: new Docker({ socketPath: socket, timeout: 30_000 }), nodeId: "" };
    });
  }

  get manager(): SwarmMachine {
    return this.machines[0]!;
  }

  get workers(): SwarmMachine[] {
    return this.machines.slice(1);
  }

  /** Brings up `nodes` engines (removing whatever an earlier run left first) and forms the swarm: the first is its manager. */
  static async start(options: { nodes: number }): Promise<MultiNodeSwarm> {
    if (options.nodes < 1 || options.nodes > 9) throw new Error("1 to 9 nodes");
    await MultiNodeSwarm.cleanLeftovers();
    const swarm = new MultiNodeSwarm(options.nodes);
    try {
      swarm.#network();
      for (const m of swarm.machines) swarm.#startEngine(m);
      await Promise.all(swarm.machines.map((m) => swarm.#untilAnswers(m)));
      await swarm.#form();
    } catch (err) {
      await MultiNodeSwarm.cleanLeftovers();
      throw err;
    }
    return swarm;
  }

  /** The switch namespace with its bridge, the root namespace's veth into it, one namespace per node. */
  #network(): void {
    mkdirSync(STATE, { recursive: true });
    const sw = `${PREFIX}-sw`;
    ip("netns", "add", sw);
    ip("-n", sw, "link", "add", "br0", "type", "bridge");
    ip("-n", sw, "link", "set", "br0", "up");
    ip("link", "add", `${PREFIX}-host`, "type", "veth", "peer", "name", "ph", "netns", sw);
    ip("addr", "add", `${NET}.1/24`, "dev", `${PREFIX}-host`);
    ip("link", "set", `${PREFIX}-host`, "up");
    ip("-n", sw, "link", "set", "ph", "master", "br0", "up");
    for (const m of this.machines) {
      ip("netns", "add", m.name);
      ip("link", "add", "eth0", "netns", m.name, "type", "veth", "peer", "name", `p${m.index}`, "netns", sw);
      ip("-n", sw, "link", "set", `p${m.index}`, "master", "br0", "up");
      ip("-n", m.name, "link", "set", "lo", "up");
      ip("-n", m.name, "addr", "add", `${m.address}/24`, "dev", "eth0");
      ip("-n", m.name, "link", "set", "eth0", "up");
      // ip netns exec binds this over /etc/resolv.conf: no resolver outside the node.
      mkdirSync(`/etc/netns/${m.name}`, { recursive: true });
      writeFileSync(`/etc/netns/${m.name}/resolv.conf`, "nameserver 127.0.0.1\n");
    }
  }

  #pidFile(m: SwarmMachine): string {
    return `${STATE}/n${m.index}.pid`;
  }

  /** Starts (or starts again, on the same data root: it rejoins the swarm by itself) the machine's dockerd. */
  #startEngine(m: SwarmMachine): void {
    mkdirSync(`${DATA}/n${m.index}`, { recursive: true });
    const dockerd = [
      `--data-root ${DATA}/n${m.index}`, `--exec-root ${STATE}/n${m.index}`, `--pidfile ${this.#pidFile(m)}`, `-H unix://${m.socket}`,
      `--bip 10.234.${m.index}.1/24`, `--default-address-pool base=10.24${m.index}.0.0/16,size=24`,
    ];
    spawnDockerdInNetns(m.name, dockerd, `${STATE}/n${m.index}.log`, { hostname: m.name, env: { ...process.env, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: "1" } });
  }

  async #untilAnswers(m: SwarmMachine): Promise<void> {
    await untilEngineAnswers(m.engine, `dockerd of ${m.name} to answer`, () => this.log(m));
  }

  /**
   * swarm init on the first machine, the others join as workers. A 1 s heartbeat, so that a
   * dead node is seen down in seconds rather than the default 15 or so.
   */
  async #form(): Promise<void> {
    const manager = this.manager;
    await manager.engine.swarmInit({
      ListenAddr: `${manager.address}:2377`,
      AdvertiseAddr: manager.address,
      DataPathAddr: manager.address,
      DefaultAddrPool: [SWARM_ADDR_POOL],
      SubnetSize: 24,
      Spec: { Dispatcher: { HeartbeatPeriod: 1_000_000_000 }, Orchestration: { TaskHistoryRetentionLimit: 1 } },
    });
    const swarm = (await manager.engine.swarmInspect()) as { JoinTokens: { Worker: string } };
    for (const w of this.workers) {
      await w.engine.swarmJoin({ ListenAddr: `${w.address}:2377`, AdvertiseAddr: w.address, DataPathAddr: w.address, RemoteAddrs: [`${manager.address}:2377`], JoinToken: swarm.JoinTokens.Worker });
    }
    for (const m of this.machines) m.nodeId = ((await m.engine.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    await this.untilReady(this.machines.length);
  }

  /** Waits until the manager sees `count` nodes ready. */
  async untilReady(count: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${count} swarm nodes ready`, async () => {
      const nodes = (await this.manager.engine.listNodes()) as Array<{ Status?: { State?: string } }>;
      return nodes.filter((n) => n.Status?.State === "ready").length === count;
    }, timeoutMs);
  }

  /** The state the manager sees a machine in ("ready", "down", ...). */
  async nodeState(m: SwarmMachine): Promise<string> {
    const node = (await this.manager.engine.getNode(m.nodeId).inspect()) as { Status?: { State?: string } };
    return node.Status?.State ?? "";
  }

  log(m: SwarmMachine): string {
    try {
      return readFileSync(`${STATE}/n${m.index}.log`, "utf8");
    } catch {
      return "";
    }
  }

  /**
   * The machine dies: its dockerd is killed (SIGKILL), and with it its containerd, the shims
   * and every container process, as when the machine itself goes down. Its data root stays,
   * for `revive`.
   */
  async kill(m: SwarmMachine): Promise<void> {
    killMachine(m.index, "SIGKILL");
    await waitFor(`${m.name}'s processes to be gone`, () => machineProcesses(m.index).length === 0, 30_000);
  }

  /** The machine comes back: its dockerd starts again on its data root and rejoins the swarm. */
  async revive(m: SwarmMachine): Promise<void> {
    this.#startEngine(m);
    await this.#untilAnswers(m);
  }

  /** Freezes the machine's dockerd (SIGSTOP): it stops answering, as a hung or unreachable engine would. */
  pause(m: SwarmMachine): void {
    process.kill(dockerdPid(m.index)!, "SIGSTOP");
  }

  resume(m: SwarmMachine): void {
    process.kill(dockerdPid(m.index)!, "SIGCONT");
  }

  /** Everything down and removed: the swarm, the engines, their data, the namespaces. */
  async stop(): Promise<void> {
    for (const m of this.machines) {
      const pid = dockerdPid(m.index);
      if (pid !== undefined) quietly(() => process.kill(pid, "SIGCONT"));
    }
    await MultiNodeSwarm.cleanLeftovers();
  }

  /**
   * Removes whatever a run of this harness left (a crashed test, a killed runner): safe to
   * call any time, on nothing. Ends only processes of this harness: dockerds by the pid files
   * they wrote here, checked against their data root; containerd and shims by its exec root.
   */
  static async cleanLeftovers(): Promise<void> {
    const indices = new Set<number>();
    for (const f of existsSync(STATE) ? readdirSync(STATE) : []) {
      const m = /^n(\d+)\.pid$/.exec(f);
      if (m) indices.add(Number(m[1]));
    }
    for (const ns of spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.split("\n")) {
      const m = new RegExp(`^${PREFIX}-n(\\d+)\\b`).exec(ns);
      if (m) indices.add(Number(m[1]));
    }
    // A graceful stop first (its containers stop with it), then whatever is left is killed.
    for (const i of indices) {
      const pid = dockerdPid(i);
      if (pid !== undefined) quietly(() => process.kill(pid, "SIGTERM"));
    }
    for (const i of indices) {
      await waitFor(`dockerd n${i} to stop`, () => dockerdPid(i) === undefined, 20_000).catch(() => undefined);
      killMachine(i, "SIGKILL");
      await waitFor(`n${i}'s processes to be gone`, () => machineProcesses(i).length === 0, 20_000);
    }
    for (const i of indices) {
      quietly(() => ip("netns", "del", `${PREFIX}-n${i}`));
      rmSync(`/etc/netns/${PREFIX}-n${i}`, { recursive: true, force: true });
      removeCgroups(`${PREFIX}-n${i}`);
    }
    quietly(() => ip("netns", "del", `${PREFIX}-sw`));
    quietly(() => ip("link", "del", `${PREFIX}-host`));
    // The engines' mounts were in their own mount namespaces, gone with their processes.
    rmSync(DATA, { recursive: true, force: true });
    rmSync(STATE, { recursive: true, force: true });
  }
}

/** The dockerd of machine i, by the pid file it wrote, if that process is alive and is that dockerd. */
function dockerdPid(i: number): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(`${STATE}/n${i}.pid`, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return undefined;
  return commandLine(pid).includes(`--data-root ${DATA}/n${i} `) ? pid : undefined;
}

/** Machine i's processes: its dockerd, and its containerd and shims (found by its exec root) with their children. */
function machineProcesses(i: number): number[] {
  const execRoot = `${STATE}/n${i}/`;
  const dockerd = dockerdPid(i);
  return withDescendants([...(dockerd === undefined ? [] : [dockerd]), ...processIds().filter((pid) => commandLine(pid).includes(execRoot))]);
}

function killMachine(i: number, signal: NodeJS.Signals): void {
  for (const pid of machineProcesses(i)) quietly(() => process.kill(pid, signal));
}
