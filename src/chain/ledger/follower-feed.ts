import type { Chain } from "./chain.ts";
import { errorMessage } from "../log/logger.ts";
import type { Logger } from "../log/logger.ts";
import type { PeerTransport } from "../peer/peer-transport.ts";
import { PEER_BODY_LIMIT, PUSH_BUDGET_BYTES, PUSH_ENVELOPE_BYTES } from "../size-limits.ts";

export interface FollowerFeedOptions {
  peerId: string;
  chain: Chain;
  transport: PeerTransport;
  log: Logger;
  /** Most blocks and about how many bytes of them per message. */
  maxBlocks?: number;
  maxBytes?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How long to wait before asking again whether a follower that pulls has caught up, in ms. */
  pullCheckMs?: number;
  /** Called with the follower's height each time it answers. */
  onFollowerHeight?: (height: number) => void;
}

/**
 * Message kind of a block push: `{ blocks, height }`, `height` being the orderer's. The
 * reply is `{ height }`, the follower's height after it. A push without blocks whose
 * height is above the follower's tells it to pull what it lacks (`GET /peer/blocks`).
 */
export const BLOCKS_MESSAGE = "blocks";

/**
 * Keeps one follower's chain level with the orderer's: pushes the blocks it lacks, in
 * order, one message at a time. The follower answers its height, so the feed always
 * resends from what the follower has, not from what was sent: a restarted or lagging
 * follower is brought up to date by the same loop. While the follower is unreachable the
 * feed retries with growing pauses (capped), and the orderer never waits for it.
 *
 * A block the follower cannot take in a push (larger than its peer body limit: blocks
 * written before blocks were bounded, or a 413 for any other reason) is not pushed again
 * and again: the feed sends only its height, the follower pulls the block by range, and
 * the feed looks again shortly. So a follower never stays behind for good because of
 * what a push can carry.
 */
export class FollowerFeed {
  readonly peerId: string;
  readonly #options: FollowerFeedOptions;
  /** The follower's height as last reported; undefined until it has answered once. */
  #followerHeight: number | undefined;
  #inFlight = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #closed = false;
  #lastError = "";
  /** Follower height from which pushes are too large for it: it pulls from there. */
  #pullFrom: number | undefined;

  constructor(options: FollowerFeedOptions) {
    this.peerId = options.peerId;
    this.#options = options;
  }

  /** Call whenever the chain grows; also starts the first exchange. */
  kick(): void {
    if (this.#closed || this.#inFlight || this.#retryTimer !== undefined) return;
    this.#pump().catch((error: unknown) => this.#fail(`pushing to ${this.peerId} failed: ${errorMessage(error)}`));
  }

  status(): { height: number | null; reachable: boolean; error?: string } {
    const reachable = this.#failures === 0 && this.#followerHeight !== undefined;
    return {
      height: this.#followerHeight ?? null,
      reachable,
      ...(reachable || this.#lastError === "" ? {} : { error: this.#lastError }),
    };
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  async #pump(): Promise<void> {
    const { chain, transport, log, peerId } = this.#options;
    this.#inFlight = true;
    try {
      while (!this.#closed) {
        const from = this.#followerHeight ?? chain.height;
        // An empty push is a probe: it learns the follower's height after a (re)start.
        if (from >= chain.height && this.#followerHeight !== undefined) return;
        let blocks = this.#pullFrom === from ? [] : chain.blocksFrom(from, this.#options.maxBlocks ?? 64, this.#options.maxBytes ?? PUSH_BUDGET_BYTES);
        if (blocks.length > 0 && chain.blockBytes(from) + PUSH_ENVELOPE_BYTES > PEER_BODY_LIMIT) {
          this.#pullInstead(from, `block ${from} takes ${chain.blockBytes(from)} bytes, more than a push may carry`);
          blocks = [];
        }
        const sent = await transport.send(peerId, BLOCKS_MESSAGE, { blocks, height: chain.height });
        if (!sent.ok) {
          if (sent.status === 413 && blocks.length > 0) {
            this.#pullInstead(from, sent.error);
            continue;
          }
          return this.#fail(sent.error);
        }
        const reply = sent.body as { height?: unknown; error?: unknown } | null;
        const height = reply?.height;
        if (typeof height !== "number" || !Number.isSafeInteger(height) || height < 1) {
          return this.#fail(`${peerId} answered a push without its height`);
        }
        const known = this.#followerHeight !== undefined;
        const stuck = blocks.length > 0 && height === this.#followerHeight && height <= from;
        this.#followerHeight = height;
        this.#options.onFollowerHeight?.(height);
        if (stuck) {
          const reason = typeof reply?.error === "string" ? reply.error : "no progress";
          log.log("warn", "feed.follower_refused", { peer: peerId, height, reason });
          return this.#fail(`${peerId} refused block ${from}: ${reason}`);
        }
        this.#failures = 0;
        this.#lastError = "";
        if (blocks.length === 0 && known && height <= from) {
          // Told to pull and not there yet: ask again after a pause (the reply is not a failure).
          this.#retryTimer = setTimeout(() => {
            this.#retryTimer = undefined;
            this.kick();
          }, this.#options.pullCheckMs ?? 500);
          return;
        }
      }
    } finally {
      this.#inFlight = false;
    }
  }

  #pullInstead(from: number, reason: string): void {
    if (this.#pullFrom === from) return;
    this.#pullFrom = from;
    this.#options.log.log("warn", "feed.push_too_large", { peer: this.#options.peerId, from, reason });
  }

  #fail(error: string): void {
    if (this.#closed) return;
    if (this.#failures === 0) this.#options.log.log("warn", "feed.follower_unreachable", { peer: this.peerId, error });
    this.#failures++;
    this.#lastError = error;
    const min = this.#options.retryMinMs ?? 250;
    const delay = Math.min(this.#options.retryMaxMs ?? 5_000, min * 2 ** (this.#failures - 1));
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.kick();
    }, delay);
  }
}
