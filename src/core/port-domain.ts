import type { Host } from "./types.ts";

/** A daemon_url of the form `tcp://HOST:PORT`; HOST may be a bracketed IPv6 address. */
export const TCP_DAEMON_URL = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[^:/\s]+):(\d{1,5})\/?$/;

/** Host names that always mean this machine. */
export const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/i;

/** The port domain of every host whose ports are this machine's own. */
export const MACHINE_DOMAIN = "machine";

/**
 * The port domain a host leases its ports in: hosts that publish on one machine's ports share
 * one, so they never lease each other's ports. This machine's domain is `machine`: local
 * hosts, and docker and swarm hosts whose engine is reached over a unix socket or at an
 * address of this machine (loopback, or one of `ownAddresses`). Any other engine publishes on
 * its own machine, named by the daemon_url's host: `engine:HOST`. Other host types (the
 * in-memory test host) lease nothing real and keep a domain of their own, their id.
 *
 * A swarm's host-mode ports are published on the swarm node running vp0; chainpool leases
 * them in the manager's domain, which is that node when the swarm is one machine, and at
 * worst a port or two fewer on a multi-node one (a port its node finds taken is moved).
 */
export function portDomain(host: Pick<Host, "id" | "type" | "daemon_url">, ownAddresses: ReadonlySet<string>): string {
  if (host.type === "local") return MACHINE_DOMAIN;
  if (host.type !== "docker" && host.type !== "swarm") return host.id;
  const url = host.daemon_url.trim();
  if (url.startsWith("unix://")) return MACHINE_DOMAIN;
  const m = TCP_DAEMON_URL.exec(url);
  if (!m) return host.id; // refused when the host was added; nothing to share
  const name = m[1]!.replace(/^\[|\]$/g, "").toLowerCase();
  if (LOOPBACK_HOST.test(name) || ownAddresses.has(name)) return MACHINE_DOMAIN;
  return `engine:${name}`;
}

/** The domain a host leased its ports in before hosts on one machine shared one (database v2). */
export function legacyPortDomain(host: Pick<Host, "id" | "type">): string {
  return host.type === "local" ? "local" : host.id;
}
