import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import Docker from "dockerode";
import { badRequest } from "../../core/errors.ts";
import { HOST_PARAMS } from "../../core/host-params.ts";
import { LOOPBACK_HOST, TCP_DAEMON_URL } from "../../core/port-domain.ts";
import type { Host } from "../../core/types.ts";

/** Host params the docker and swarm drivers read; every other key is refused. */
const TLS_PARAMS = ["tls_ca", "tls_cert", "tls_key"] as const;

export type DaemonAddress =
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; host: string; port: number; tls: boolean };

/**
 * Reads a host's `daemon_url` and TLS params, or names the field that is wrong. Plain tcp to
 * anything but loopback is refused unless the host says `insecure = true`: an open Docker
 * port is root on that machine for anyone who can reach it.
 */
export function parseDockerHost(host: Pick<Host, "type" | "daemon_url" | "params">): DaemonAddress {
  // The params this host type reads, as the API and the config know them (core/host-params.ts).
  const known = Object.keys(HOST_PARAMS[host.type]);
  const unknown = Object.keys(host.params).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw badRequest(`params.${unknown[0]}: unknown param; ${host.type} hosts take ${known.join(", ")}`);
  for (const key of [...TLS_PARAMS, "public_host"] as const) {
    const value = host.params[key];
    if (value !== undefined && (typeof value !== "string" || value === "")) throw badRequest(`params.${key}: must be a non-empty string`);
  }
  if (host.params["insecure"] !== undefined && typeof host.params["insecure"] !== "boolean") throw badRequest("params.insecure: must be true or false");
  const publishIp = host.params["publish_ip"];
  if (publishIp !== undefined && (typeof publishIp !== "string" || isIP(publishIp) === 0)) throw badRequest("params.publish_ip: must be an IP address");

  const url = host.daemon_url.trim();
  if (url === "") throw badRequest("daemon_url: required for docker and swarm hosts (unix:///var/run/docker.sock, tcp://HOST:2376)");
  if (url.startsWith("unix://")) {
    const socketPath = url.slice("unix://".length);
    if (!socketPath.startsWith("/")) throw badRequest("daemon_url: a unix socket URL needs an absolute path, as in unix:///var/run/docker.sock");
    return { kind: "unix", socketPath };
  }
  const m = TCP_DAEMON_URL.exec(url);
  if (!m) throw badRequest(`daemon_url: "${url}" is neither unix:///PATH nor tcp://HOST:PORT`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw badRequest(`daemon_url: port ${port} is out of range`);
  const given = TLS_PARAMS.filter((k) => host.params[k] !== undefined);
  if (given.length > 0 && given.length < TLS_PARAMS.length) {
    const missing = TLS_PARAMS.find((k) => host.params[k] === undefined)!;
    throw badRequest(`params.${missing}: TLS needs tls_ca, tls_cert and tls_key together`);
  }
  const tls = given.length === TLS_PARAMS.length;
  if (tls) {
    for (const key of TLS_PARAMS) {
      try {
        readFileSync(host.params[key] as string);
      } catch (err) {
        throw badRequest(`params.${key}: cannot read ${String(host.params[key])}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
      }
    }
  }
  const hostname = m[1]!;
  if (!tls && !LOOPBACK_HOST.test(hostname) && host.params["insecure"] !== true) {
    throw badRequest(`daemon_url: plain tcp to ${hostname} gives root on it to anyone on the network; give tls_ca/tls_cert/tls_key, or set params.insecure = true`);
  }
  return { kind: "tcp", host: hostname.replace(/^\[|\]$/g, ""), port, tls };
}

/**
 * A swarm host's `node_engines`: each entry read as a daemon_url (the host's TLS files and
 * `insecure` apply to every tcp entry), or a 400 naming the entry.
 */
export function parseNodeEngines(host: Pick<Host, "type" | "daemon_url" | "params">): Array<{ url: string; address: DaemonAddress }> {
  const list = host.params["node_engines"];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw badRequest("params.node_engines: must be a list of engine URLs (unix:///PATH or tcp://HOST:PORT)");
  return list.map((url: unknown, i) => {
    if (typeof url !== "string") throw badRequest(`params.node_engines: entry ${i} must be a string`);
    try {
      return { url, address: parseDockerHost({ ...host, daemon_url: url }) };
    } catch (err) {
      throw badRequest(`params.node_engines: entry ${i}: ${(err as Error).message.replace(/^daemon_url: /, "")}`);
    }
  });
}

/** The address clients use for ports published on this host: public_host, else the daemon's host. */
export function publicAddress(host: Pick<Host, "daemon_url" | "params">, address: DaemonAddress): string {
  const configured = host.params["public_host"];
  if (typeof configured === "string") return configured;
  if (address.kind === "tcp") return address.host.includes(":") ? `[${address.host}]` : address.host;
  return "127.0.0.1";
}

/** A dockerode client for the host; TLS files are read here, once per driver. */
export function connectDocker(host: Pick<Host, "daemon_url" | "params">, address: DaemonAddress): Docker {
  if (address.kind === "unix") return new Docker({ socketPath: address.socketPath, timeout: 60_000 });
  if (!address.tls) return new Docker({ host: address.host, port: address.port, protocol: "http", timeout: 60_000 });
  const read = (key: string) => readFileSync(host.params[key] as string);
  return new Docker({
    host: address.host,
    port: address.port,
    protocol: "https",
    ca: read("tls_ca"),
    cert: read("tls_cert"),
    key: read("tls_key"),
    timeout: 60_000,
  });
}

/** Docker's error for a missing object, to treat removals of gone things as done. */
export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

export function isConflict(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 409;
}

/**
 * Removes a Docker object, treating "already gone" as done and retrying while it is still in
 * use (a network's endpoints or a volume's container can linger a moment after removal).
 */
export async function removeQuietly(remove: () => Promise<unknown>, attempts = 50): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await remove();
      return;
    } catch (err) {
      if (isNotFound(err)) return;
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
