import type { Block } from "./block.ts";
import type { Chain } from "./chain.ts";
import { errorMessage } from "../log/logger.ts";
import type { Logger } from "../log/logger.ts";
import type { PeerTransport } from "../peer/peer-transport.ts";
import { parseBlock } from "../peer/wire-format.ts";

export interface BlockSyncOptions {
  chain: Chain;
  transport: PeerTransport;
  log: Logger;
  /** Peers to fetch from, best first (noops: the leader, then the others). */
  sources: () => readonly string[];
  /** The consensus check of who may have made a block. */
  verifyBlockOrigin: (block: Block) => string | null;
  /** How long one page request may take, in ms. */
  fetchTimeoutMs?: number;
  /** Called for a block that proves its origin but that this chain refuses as INVALID or CONFLICT (it left that chain). */
  onDiverged?: (block: Block, reason: string) => void;
  /** First and longest pause between rounds while no source answers, in ms. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/**
 * Catch-up: pulls the blocks this node lacks from another node and applies each one with
 * the same checks as a pushed block. Any node can serve, since blocks prove their own
 * origin. Reconciles by level: it asks for everything above its own height, so it does
 * not matter which pushes were missed or why.
 */
export class BlockSync {
  readonly #options: BlockSyncOptions;
  #running: Promise<boolean> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #closed = false;

  constructor(options: BlockSyncOptions) {
    this.#options = options;
  }

  /**
   * One round: asks the sources in order until one answers (or, with `everySource`, asks
   * them all), and pulls from each until this node has its height. True if a source
   * answered. Concurrent calls share one round.
   */
  catchUp(everySource = false): Promise<boolean> {
    this.#running ??= this.#round(everySource)
      .catch((error: unknown) => {
        this.#options.log.log("error", "sync.failed", { error: errorMessage(error) });
        return false;
      })
      .finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Rounds in the background, with growing pauses, until one source has answered. */
  catchUpInBackground(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    void this.catchUp().then((answered) => {
      if (answered || this.#closed) {
        this.#failures = 0;
        return;
      }
      this.#failures++;
      const min = this.#options.retryMinMs ?? 250;
      const delay = Math.min(this.#options.retryMaxMs ?? 5_000, min * 2 ** (this.#failures - 1));
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.catchUpInBackground();
      }, delay);
    });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  async #round(everySource: boolean): Promise<boolean> {
    let answered = false;
    for (const source of this.#options.sources()) {
      if (this.#closed) break;
      if (await this.#pullFrom(source)) {
        answered = true;
        if (!everySource) break;
      }
    }
    return answered;
  }

  async #pullFrom(source: string): Promise<boolean> {
    const { chain, transport, log } = this.#options;
    const startHeight = chain.height;
    for (;;) {
      const fetched = await transport.fetchBlocks(source, chain.height, this.#options.fetchTimeoutMs);
      if (!fetched.ok) {
        log.log("debug", "sync.source_unreachable", { source, error: fetched.error });
        return false;
      }
      const { page } = fetched;
      for (const raw of page.blocks) {
        const problem = this.#accept(raw);
        if (problem !== null) {
          log.log("warn", "sync.block_rejected", { source, height: chain.height, reason: problem });
          return true;
        }
      }
      if (page.blocks.length === 0 || chain.height >= page.height || this.#closed) break;
    }
    if (chain.height > startHeight) {
      log.log("info", "sync.caught_up", { source, from_height: startHeight, height: chain.height });
    }
    return true;
  }

  #accept(raw: unknown): string | null {
    const parsed = parseBlock(raw);
    if (!parsed.ok) return parsed.error;
    const block = parsed.value;
    if (block.number >= this.#options.chain.height) {
      const origin = this.#options.verifyBlockOrigin(block);
      if (origin !== null) return origin;
    }
    const applied = this.#options.chain.apply(block);
    if (applied.ok) return null;
    if ((applied.outcome === "INVALID" || applied.outcome === "CONFLICT") && this.#options.verifyBlockOrigin(block) === null) {
      this.#options.onDiverged?.(block, applied.message);
    }
    return applied.message;
  }
}
