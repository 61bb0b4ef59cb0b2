import type { NodePeer } from "../../lib/node-config.ts";
import type { PeerTransport } from "./peer-transport.ts";

export interface PeerReachabilityOptions {
  selfId: string;
  peers: readonly NodePeer[];
  transport: PeerTransport;
  /** How long one answer is reused. */
  cacheMs?: number;
  /** How long each ping may take. */
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Which members answer right now: all peers pinged at once with a short timeout, the
 * answer reused for a second so that frequent /status and /network/peers calls cost
 * nothing. This node always counts as reachable.
 */
export class PeerReachability {
  readonly #options: PeerReachabilityOptions;
  #cached: { at: number; ids: string[] } | undefined;
  #inFlight: Promise<string[]> | undefined;

  constructor(options: PeerReachabilityOptions) {
    this.#options = options;
  }

  /** Ids of reachable members, this node included, in peer-list order. */
  reachable(): Promise<string[]> {
    const now = (this.#options.now ?? Date.now)();
    // A full answer is reused for cacheMs; a partial one only briefly, so that a peer coming
    // up is seen at once (a cluster's first health check waits on exactly that).
    const full = this.#cached?.ids.length === this.#options.peers.length;
    const ttl = full ? (this.#options.cacheMs ?? 1_000) : Math.min(100, this.#options.cacheMs ?? 1_000);
    if (this.#cached && now - this.#cached.at < ttl) {
      return Promise.resolve(this.#cached.ids);
    }
    this.#inFlight ??= this.#probe().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #probe(): Promise<string[]> {
    const { peers, selfId, transport } = this.#options;
    const timeoutMs = this.#options.timeoutMs ?? 1_000;
    const answers = await Promise.all(
      peers.map((peer) => (peer.id === selfId ? Promise.resolve(true) : transport.ping(peer.id, timeoutMs))),
    );
    const ids = peers.filter((_, index) => answers[index]).map((peer) => peer.id);
    this.#cached = { at: (this.#options.now ?? Date.now)(), ids };
    return ids;
  }
}
