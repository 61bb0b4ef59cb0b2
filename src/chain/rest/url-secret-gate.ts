import { Buffer } from "node:buffer";
import { createHash, timingSafeEqual } from "node:crypto";

/** Where a request goes once the gate has looked at its path. */
export type GateResult =
  /** A client route, the secret prefix taken off (`/chain`). */
  | { kind: "client"; path: string }
  /** A node-to-node route (`/peer/...`): no prefix, it has its own authentication. */
  | { kind: "peer"; path: string }
  /** No secret, or a wrong one: answered as a bare 404. */
  | { kind: "hidden" };

export interface UrlSecretGate {
  /** Whether the node has a secret at all. */
  readonly enabled: boolean;
  route(path: string): GateResult;
  /** The path as a log line may show it: the first segment, unless a known route's, is `{secret}`. */
  redact(path: string): string;
}

const PEER_PREFIX = "/peer/";
/** First segments of the node's own routes; any other first segment may be a secret (or a near miss of one). */
const ROUTE_ROOTS = new Set(["chain", "transactions", "network", "chaincode", "status", "peer"]);

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/**
 * The node's URL secret check. Client routes need the secret as the first path segment;
 * without a secret configured they are served at the root as before. The segment is compared
 * as SHA-256 digests with timingSafeEqual: the time taken says nothing about how much of a
 * guess was right, whatever its length.
 */
export function createUrlSecretGate(secret: string | undefined): UrlSecretGate {
  if (secret === undefined) {
    return {
      enabled: false,
      route: (path) => (path.startsWith(PEER_PREFIX) ? { kind: "peer", path } : { kind: "client", path }),
      redact: (path) => path,
    };
  }
  const expected = digest(secret);
  return {
    enabled: true,
    route(path) {
      if (path.startsWith(PEER_PREFIX)) return { kind: "peer", path };
      const end = path.indexOf("/", 1);
      const segment = end < 0 ? path.slice(1) : path.slice(1, end);
      if (!timingSafeEqual(digest(segment), expected)) return { kind: "hidden" };
      const rest = end < 0 ? "/" : path.slice(end);
      // Under the prefix only client routes: node-to-node routes live at the root.
      if (rest.startsWith(PEER_PREFIX)) return { kind: "hidden" };
      return { kind: "client", path: rest };
    },
    redact(path) {
      const end = path.indexOf("/", 1);
      const segment = end < 0 ? path.slice(1) : path.slice(1, end);
      if (segment === "" || ROUTE_ROOTS.has(segment)) return path;
      return `/{secret}${end < 0 ? "" : path.slice(end)}`;
    },
  };
}
