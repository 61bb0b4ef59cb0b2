import { isIP, isIPv4, isIPv6 } from "node:net";
import type { HostType } from "./types.ts";
import { CONTROL_CHARACTER, describeValue, isPlainObject } from "./values.ts";

/**
 * What each host type reads from a host's `daemon_url` and `params`, as one rule for the
 * operator API (POST/PUT /api/host) and for `[[hosts]]` in the config file. A param a driver
 * would ignore is refused rather than stored, so a typo never passes for a setting.
 */
type ParamKind = "file" | "boolean" | "public_host" | "ip" | "string" | "engines";

/** How many engines `node_engines` may name: a swarm past this is not one machine's daemon to feed. */
export const MAX_NODE_ENGINES = 256;

/** The params each host type reads; every other key is refused. Local nodes run here and need none. */
export const HOST_PARAMS: Readonly<Record<HostType, Readonly<Record<string, ParamKind>>>> = {
  local: {},
  memory: {},
  docker: { tls_ca: "file", tls_cert: "file", tls_key: "file", insecure: "boolean", public_host: "public_host", publish_ip: "ip", subnet_pool: "string" },
  swarm: { tls_ca: "file", tls_cert: "file", tls_key: "file", insecure: "boolean", public_host: "public_host", node_engines: "engines" },
};

/**
 * Params a host type cannot honour although a reader would expect it to, refused with why
 * rather than as unknown: a setting that is silently not applied is worse than none.
 */
const CANNOT_HONOUR: Readonly<Partial<Record<HostType, Readonly<Record<string, string>>>>> = {
  swarm: {
    publish_ip:
      "swarm hosts cannot publish on one address: Docker takes no address for a service's published port (moby/moby#26696), so a host-mode port listens on every address of the swarm node running the task; restrict the ports with the swarm nodes' firewall",
  },
};

/** One wrong field: `path` as the API and config errors name it ("params.public_host"). */
export interface HostSpecProblem {
  path: readonly (string | number)[];
  message: string;
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * A DNS name or an IP literal, as it goes into `http://PUBLIC_HOST:PORT`: no scheme, port,
 * path or spaces; an IPv6 address in brackets, as in a URL.
 */
export function isPublicHost(s: string): boolean {
  if (s.startsWith("[") && s.endsWith("]")) return isIPv6(s.slice(1, -1));
  if (isIPv4(s)) return true;
  // All digits and dots but not an IPv4 address (300.1.2.3): no name looks like that.
  if (/^[\d.]+$/.test(s)) return false;
  return s.length <= 253 && s.split(".").every((label) => LABEL.test(label));
}

function paramProblem(kind: ParamKind, value: unknown): string | undefined {
  switch (kind) {
    case "boolean":
      return typeof value === "boolean" ? undefined : "must be true or false";
    case "file":
    case "string":
      if (typeof value !== "string" || value === "") return "must be a non-empty string";
      if (CONTROL_CHARACTER.test(value)) return "must not contain control characters";
      return undefined;
    case "ip":
      if (typeof value !== "string") return `must be a string, got ${describeValue(value)}`;
      if (isIP(value) !== 0) return undefined;
      return `${describeValue(value)} is not an IP address; give one the engine's machine has (127.0.0.1, 10.0.0.5, ::1), or 0.0.0.0 for every address; no name, brackets or port`;
    case "engines":
      return enginesProblem(value);
    case "public_host":
      if (typeof value !== "string") return `must be a string, got ${describeValue(value)}`;
      if (isPublicHost(value)) return undefined;
      return `${describeValue(value)} is not a hostname or IP address; give a bare name or address (IPv6 in brackets), without scheme, port or path`;
  }
}

/** An engine endpoint as daemon_url takes it: unix:///PATH or tcp://HOST:PORT. */
const ENGINE_URL = /^(?:unix:\/\/\/\S+|tcp:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5})$/;

/**
 * `node_engines`: a list of Docker engine endpoints, one per swarm node, each as a daemon_url
 * (unix:///PATH, tcp://HOST:PORT; TLS from the host's tls_* files). Only the form is checked
 * here; the swarm driver's own check applies daemon_url's rules (TLS or loopback or insecure).
 */
function enginesProblem(value: unknown): string | undefined {
  if (!Array.isArray(value)) return `must be a list of engine URLs (unix:///PATH or tcp://HOST:PORT), got ${describeValue(value)}`;
  if (value.length > MAX_NODE_ENGINES) return `names ${value.length} engines; at most ${MAX_NODE_ENGINES}`;
  const seen = new Set<string>();
  for (const [i, url] of value.entries()) {
    if (typeof url !== "string" || !ENGINE_URL.test(url)) return `entry ${i}: ${describeValue(url)} is not an engine URL; give unix:///PATH or tcp://HOST:PORT`;
    if (seen.has(url)) return `entry ${i}: ${url} is named twice`;
    seen.add(url);
  }
  return undefined;
}

/**
 * Every problem with a host's daemon_url and params for its type, each naming its field; an
 * empty list when there is none. Only the fields given are checked, so a PUT that changes
 * capacity is not refused for what an older version stored. Nothing is contacted or read:
 * the drivers' own check (daemon_url's form, TLS files readable) comes after this.
 */
export function hostSpecProblems(spec: { type: HostType; daemon_url?: string | undefined; params?: unknown }): HostSpecProblem[] {
  const problems: HostSpecProblem[] = [];
  const url = spec.daemon_url;
  if (url !== undefined) {
    if (spec.type === "local" && url !== "") {
      problems.push({ path: ["daemon_url"], message: "local hosts take no daemon_url; their nodes run on this machine" });
    } else if (CONTROL_CHARACTER.test(url)) {
      problems.push({ path: ["daemon_url"], message: "must not contain control characters" });
    } else if (url !== url.trim()) {
      problems.push({ path: ["daemon_url"], message: "must not begin or end with whitespace" });
    }
  }
  if (spec.params === undefined) return problems;
  if (!isPlainObject(spec.params)) {
    problems.push({ path: ["params"], message: `expected an object, got ${describeValue(spec.params)}` });
    return problems;
  }
  const known = HOST_PARAMS[spec.type];
  const names = Object.keys(known);
  for (const [key, value] of Object.entries(spec.params)) {
    const kind = Object.hasOwn(known, key) ? known[key] : undefined;
    const cannot = CANNOT_HONOUR[spec.type];
    if (kind === undefined && cannot !== undefined && Object.hasOwn(cannot, key)) {
      problems.push({ path: ["params", key], message: cannot[key]! });
      continue;
    }
    if (kind === undefined) {
      const takes = names.length === 0 ? "no params" : names.join(", ");
      problems.push({ path: ["params", key], message: `unknown param; ${spec.type} hosts take ${takes}` });
      continue;
    }
    const problem = paramProblem(kind, value);
    if (problem !== undefined) problems.push({ path: ["params", key], message: problem });
  }
  return problems;
}
