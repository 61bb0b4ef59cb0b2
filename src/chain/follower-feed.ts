import type { Chain } from "./chain.ts";
import { errorMessage } from "./logger.ts";
import type { Logger } from "./logger.ts";
import type { PeerTransport } from "./peer-transport.ts";

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
}

/** Message kind of a block push; the reply is `{ height }`, the follower's height after it. */
export const BLOCKS_MESSAGE = "blocks";

/**
 * Keeps one follower's chain level with the orderer's: pushes the blocks it lacks, in
 * order, one message at a time. The follower answers its height, so the feed always
 * resends from what the follower has, not from what was sent: a restarted or lagging
 * follower is brought up to date by the same loop. While the follower is unreachable the
 * feed retries with growing pauses (capped), and the orderer never waits for it.
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
        const blocks = chain.blocksFrom(from, this.#options.maxBlocks ?? 64, this.#options.maxBytes ?? 512 * 1024);
        const sent = await transport.send(peerId, BLOCKS_MESSAGE, { blocks });
        if (!sent.ok) return this.#fail(sent.error);
        const reply = sent.body as { height?: unknown; error?: unknown } | null;
        const height = reply?.height;
        if (typeof height !== "number" || !Number.isSafeInteger(height) || height < 1) {
          return this.#fail(`${peerId} answered a push without its height`);
        }
        const stuck = blocks.length > 0 && height === this.#followerHeight && height <= from;
        this.#followerHeight = height;
        if (stuck) {
          const reason = typeof reply?.error === "string" ? reply.error : "no progress";
          log.log("warn", "feed.follower_refused", { peer: peerId, height, reason });
          return this.#fail(`${peerId} refused block ${from}: ${reason}`);
        }
        this.#failures = 0;
        this.#lastError = "";
      }
    } finally {
      this.#inFlight = false;
    }
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
