import { setImmediate } from "node:timers";
import type { HttpClient } from "../rest/http-client.ts";
import type { Logger } from "../log/logger.ts";
import type { FrameCodec } from "../consensus/pbft/pbft-frames.ts";
import type { PbftMessage } from "../consensus/pbft/pbft-messages.ts";
import { FRAME_BUDGET_BYTES } from "../size-limits.ts";

export interface FrameLinkOptions {
  peerId: string;
  /** The peer's base URL; frames go to `${url}/peer/frame`. */
  url: string;
  codec: FrameCodec;
  http: HttpClient;
  log: Logger;
  now: () => number;
}

/** Most messages one frame carries; more wait for the next frame. */
const MAX_MESSAGES_PER_FRAME = 2_000;
/** Most messages waiting for a peer that does not answer; the oldest are dropped (PBFT retransmits). */
const MAX_QUEUED = 20_000;
const FRAME_TIMEOUT_MS = 3_000;

/**
 * The outgoing side of one replica-to-replica link: messages queue while a frame is in
 * flight and leave together in the next one, so under load many messages share one HTTP
 * request and one MAC. At most one frame is in flight, which keeps frames in order. A
 * peer that does not answer is retried with growing pauses; PBFT tolerates the loss.
 */
export class FrameLink {
  readonly peerId: string;
  readonly #options: FrameLinkOptions;
  #queue: PbftMessage[] = [];
  #inFlight = false;
  #scheduled = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #sentFrames = 0;
  #dropped = 0;
  #closed = false;

  constructor(options: FrameLinkOptions) {
    this.#options = options;
    this.peerId = options.peerId;
  }

  push(message: PbftMessage): void {
    if (this.#closed) return;
    this.#queue.push(message);
    if (this.#queue.length > MAX_QUEUED) {
      const excess = this.#queue.length - MAX_QUEUED;
      this.#queue.splice(0, excess);
      this.#dropped += excess;
    }
    this.#schedule();
  }

  status(): { queued: number; frames_sent: number; failures: number; dropped: number } {
    return { queued: this.#queue.length, frames_sent: this.#sentFrames, failures: this.#failures, dropped: this.#dropped };
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#queue = [];
  }

  #schedule(): void {
    if (this.#inFlight || this.#scheduled || this.#retryTimer !== undefined || this.#closed) return;
    this.#scheduled = true;
    // Next turn, not now: messages produced by the same input share the frame.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  /** How many queued messages the next frame takes: up to MAX_MESSAGES_PER_FRAME and FRAME_BUDGET_BYTES (at least one). */
  #frameLength(): number {
    const count = Math.min(MAX_MESSAGES_PER_FRAME, this.#queue.length);
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      bytes += this.#options.codec.messageBytes(this.#queue[i] as PbftMessage);
      if (i > 0 && bytes > FRAME_BUDGET_BYTES) return i;
    }
    return count;
  }

  async #flush(): Promise<void> {
    if (this.#inFlight || this.#closed || this.#queue.length === 0) return;
    this.#inFlight = true;
    const { codec, http, url, peerId } = this.#options;
    const messages = this.#queue.splice(0, this.#frameLength());
    const frame = codec.seal(peerId, messages);
    const request = { url: `${url}/peer/frame`, method: "POST" as const, text: frame, timeoutMs: FRAME_TIMEOUT_MS, maxResponseBytes: 64 * 1024 };
    let result = await http.send(request);
    // A kept-alive socket the other side just closed fails once; a repeat of the frame is refused as a replay.
    if (!result.ok && /ECONNRESET|socket hang up/.test(result.error)) result = await http.send(request);
    this.#inFlight = false;
    this.#sentFrames++;
    if (result.ok && result.status === 200) {
      this.#failures = 0;
    } else {
      this.#failures++;
      if (this.#failures === 1 || this.#failures % 50 === 0) {
        this.#options.log.log("debug", "pbft.link_failed", { peer: peerId, failures: this.#failures, error: result.ok ? `status ${result.status}` : result.error });
      }
      const pause = Math.min(1_000, 25 * 2 ** Math.min(this.#failures, 6));
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#schedule();
      }, pause);
      return;
    }
    if (this.#queue.length > 0) this.#schedule();
  }
}
