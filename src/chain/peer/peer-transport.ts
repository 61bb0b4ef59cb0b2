import type { NodePeer } from "../../lib/node-config.ts";
import type { HttpClient, HttpResult } from "../rest/http-client.ts";
import { sealMessage } from "./peer-envelope.ts";
import { signPeerGet } from "./peer-get-auth.ts";
import type { PeerKeys } from "./peer-keys.ts";
import { PEER_REPLY_LIMIT } from "../size-limits.ts";

/** A failure has `status` when the peer answered (with a non-2xx), none when it could not be reached. */
export type SendOutcome = { ok: true; body: unknown } | { ok: false; error: string; status?: number };

export interface BlocksPage {
  /** The serving node's height when it answered. */
  height: number;
  /** Unverified: the caller checks every block. */
  blocks: unknown[];
}

export interface PeerTransportOptions {
  clusterId: string;
  keys: PeerKeys;
  peers: readonly NodePeer[];
  http: HttpClient;
  /** Clock for the signed GETs' time; Date.now by default. */
  now?: () => number;
}

/**
 * How a node talks to the others over their REST API: signed messages to
 * `POST /peer/message`, block pages from `GET /peer/blocks` (blocks carry their own
 * signatures, so the page needs none), and `GET /peer/ping` for reachability. Both GETs are
 * signed too (peer-get-auth.ts): a node with a URL secret serves them to members only.
 */
export class PeerTransport {
  readonly #options: PeerTransportOptions;
  readonly #urls: ReadonlyMap<string, string>;

  constructor(options: PeerTransportOptions) {
    this.#options = options;
    this.#urls = new Map(options.peers.map((peer) => [peer.id, peer.url]));
  }

  /** Sends one signed message and answers the reply body of a 2xx, or why it failed. */
  async send(to: string, kind: string, body: unknown, timeoutMs = 2_000): Promise<SendOutcome> {
    const url = this.#urls.get(to);
    if (url === undefined) return { ok: false, error: `no peer "${to}"` };
    const envelope = sealMessage(this.#options.keys, {
      cluster_id: this.#options.clusterId,
      from: this.#options.keys.selfId,
      to,
      kind,
      body,
    });
    const request = { url: `${url}/peer/message`, method: "POST", body: envelope, timeoutMs } as const;
    let result = await this.#http(request);
    // A kept-alive socket the other side has just closed fails once; messages are idempotent.
    if (!result.ok && /ECONNRESET|socket hang up/.test(result.error)) result = await this.#http(request);
    return toOutcome(result, to);
  }

  async fetchBlocks(from: string, start: number, timeoutMs = 5_000): Promise<{ ok: true; page: BlocksPage } | { ok: false; error: string }> {
    const url = this.#urls.get(from);
    if (url === undefined) return { ok: false, error: `no peer "${from}"` };
    const path = this.#signed(from, "/peer/blocks", { from: String(start) });
    const outcome = toOutcome(await this.#http({ url: `${url}${path}`, method: "GET", timeoutMs }), from);
    if (!outcome.ok) return outcome;
    const page = outcome.body as Partial<BlocksPage> | null;
    if (!page || typeof page.height !== "number" || !Array.isArray(page.blocks)) {
      return { ok: false, error: `${from} answered a malformed block page` };
    }
    return { ok: true, page: { height: page.height, blocks: page.blocks } };
  }

  /** Whether the peer answers as the expected node of this cluster within `timeoutMs`. */
  async ping(peerId: string, timeoutMs: number): Promise<boolean> {
    const url = this.#urls.get(peerId);
    if (url === undefined) return false;
    const result = await this.#http({ url: `${url}${this.#signed(peerId, "/peer/ping")}`, method: "GET", timeoutMs });
    if (!result.ok || result.status !== 200) return false;
    const body = result.body as { node_id?: unknown; cluster_id?: unknown } | null;
    return body?.node_id === peerId && body.cluster_id === this.#options.clusterId;
  }

  #signed(to: string, path: string, params?: Record<string, string>): string {
    const { keys, clusterId } = this.#options;
    return signPeerGet({ keys, clusterId, to, path, ...(params && { params }), now: (this.#options.now ?? Date.now)() });
  }

  #http(request: { url: string; method: "GET" | "POST"; body?: unknown; timeoutMs: number }): Promise<HttpResult> {
    return this.#options.http.send({ ...request, maxResponseBytes: PEER_REPLY_LIMIT });
  }
}

function toOutcome(result: HttpResult, peer: string): SendOutcome {
  if (!result.ok) return result;
  if (result.status >= 200 && result.status < 300) return { ok: true, body: result.body };
  const reason = (result.body as { Error?: unknown } | null)?.Error;
  return { ok: false, error: `${peer} answered ${result.status}${typeof reason === "string" ? `: ${reason}` : ""}`, status: result.status };
}
