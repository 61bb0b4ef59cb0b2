import { isIP } from "node:net";
import { LOOPBACK_HOST, MACHINE_DOMAIN, portDomain, TCP_DAEMON_URL } from "./port-domain.ts";
import type { Host } from "./types.ts";

/** Where a docker host's node ports are published, and which rule chose it (for the log and the README). */
export interface PublishAddress {
  /** The engine's HostIp for every published port: an IP literal, bare (IPv6 without brackets). */
  ip: string;
  /**
   * `param`: the host's `publish_ip`. `loopback`: api_url names loopback, so nothing else needs
   * the ports. `own`: api_url names one of this machine's own addresses and the engine runs
   * here. `everywhere`: neither can be known, so every address, as before there was a choice.
   */
  rule: "param" | "loopback" | "own" | "everywhere";
}

/** The host part of a docker host's api_url: public_host, else the daemon_url's host, else loopback. */
function apiHost(host: Pick<Host, "daemon_url" | "params">): string {
  const configured = host.params["public_host"];
  if (typeof configured === "string") return configured.replace(/^\[|\]$/g, "").toLowerCase();
  const m = TCP_DAEMON_URL.exec(host.daemon_url.trim());
  return m ? m[1]!.replace(/^\[|\]$/g, "").toLowerCase() : "127.0.0.1";
}

/**
 * The address a docker host publishes its nodes' REST ports on. The host's `publish_ip` when
 * given. Otherwise the narrowest address that still serves every client of api_url: clients
 * only ever go where api_url sends them, so when that is loopback the ports are published on
 * loopback, and when it is an address this machine has (the engine running here) on that
 * address alone. An engine elsewhere, or an api_url host given as a name, publishes on every
 * address as it always did: chainpool cannot tell which of that machine's addresses the
 * clients' packets arrive at (a cloud VM's public address is on none of its interfaces, and a
 * bind to it would fail), so narrowing it is the operator's call, with `publish_ip`.
 */
export function publishAddress(host: Pick<Host, "id" | "type" | "daemon_url" | "params">, ownAddresses: ReadonlySet<string>): PublishAddress {
  const configured = host.params["publish_ip"];
  if (typeof configured === "string") return { ip: configured, rule: "param" };
  const target = apiHost(host);
  if (target === "localhost") return { ip: "127.0.0.1", rule: "loopback" };
  if (isIP(target) !== 0 && LOOPBACK_HOST.test(target)) return { ip: target, rule: "loopback" };
  if (isIP(target) !== 0 && ownAddresses.has(target) && portDomain(host, ownAddresses) === MACHINE_DOMAIN) return { ip: target, rule: "own" };
  return { ip: "0.0.0.0", rule: "everywhere" };
}
