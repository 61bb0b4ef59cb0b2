import type { PeerKeys } from "./peer-keys.ts";

/**
 * Authentication of the node-to-node GETs (`/peer/ping`, `/peer/blocks`), which sit outside
 * the URL secret like every `/peer/` route: the asking node signs what it asks for, whom it
 * asks and when, with its Ed25519 key, in three query parameters. Otherwise anyone reaching
 * a node's port could read its whole ledger from `/peer/blocks`. The time bounds how long a
 * request seen on the wire could be replayed (and a replay only reads what the original did).
 */
const FROM = "peer_from";
const TIME = "peer_ts";
const SIGNATURE = "peer_sig";
/** How far the asker's clock may be from this node's, either way (swarm nodes are separate machines). */
const MAX_SKEW_MS = 5 * 60_000;

function signedText(clusterId: string, from: string, to: string, time: string, path: string, query: string): string {
  return `chainpool-peer-get\n${clusterId}\n${from}\n${to}\n${time}\n${path}?${query}`;
}

/** `path` with `params` and this node's signature for a GET of node `to`, as a path and query string. */
export function signPeerGet(options: { keys: PeerKeys; clusterId: string; to: string; path: string; params?: Record<string, string>; now: number }): string {
  const { keys, clusterId, to, path } = options;
  const query = new URLSearchParams(options.params);
  const time = String(options.now);
  const signature = keys.sign(signedText(clusterId, keys.selfId, to, time, path, query.toString()));
  query.set(FROM, keys.selfId);
  query.set(TIME, time);
  query.set(SIGNATURE, signature);
  return `${path}?${query.toString()}`;
}

/** Whether a GET of this node's `path` was signed by a member of the cluster for this node, recently. */
export function verifyPeerGet(options: { keys: PeerKeys; clusterId: string; path: string; query: URLSearchParams; now: number }): boolean {
  const { keys, query } = options;
  const from = query.get(FROM);
  const time = query.get(TIME);
  const signature = query.get(SIGNATURE);
  if (from === null || time === null || signature === null || !keys.isMember(from)) return false;
  if (!/^\d{1,16}$/.test(time) || Math.abs(options.now - Number(time)) > MAX_SKEW_MS) return false;
  const rest = new URLSearchParams(query);
  for (const name of [FROM, TIME, SIGNATURE]) rest.delete(name);
  return keys.verify(from, signedText(options.clusterId, from, keys.selfId, time, options.path, rest.toString()), signature);
}
