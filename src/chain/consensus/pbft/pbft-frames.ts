import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { clip } from "../../log/clip.ts";
import { parsePbftMessage, requestDigest } from "./pbft-messages.ts";
import type { PbftMessage, PbftRequest } from "./pbft-messages.ts";

/**
 * How PBFT messages travel between two replicas: in frames, each carrying every message
 * queued for that peer, authenticated with the MAC key the pair shares (HMAC-SHA256;
 * see pair-keys.ts), so one MAC covers many messages. A frame is plain text:
 *
 *   from \n to \n epoch \n counter \n mac \n [message, ...]
 *
 * `epoch` is the sender's start time and `counter` grows with every frame it sends to
 * this peer. Frames may arrive out of order, so the receiver keeps the counters it took
 * within a window below the highest (as IPsec does): a counter seen before, below the
 * window, or from an older epoch is a replay and is refused. The MAC covers every line
 * but itself.
 *
 * Requests carry their own authenticator, made by their client node: one MAC per
 * replica over the request digest, so any replica can check a request relayed by
 * another (the primary cannot make one up).
 */
export type FrameRejection = "malformed" | "non_member" | "misdirected" | "bad_mac" | "replayed";

export type OpenedFrame =
  | { ok: true; from: string; messages: PbftMessage[]; malformed: number }
  | { ok: false; reason: FrameRejection; error: string };

export interface FrameCodecOptions {
  selfId: string;
  /** Peer id -> the MAC key this node shares with it (its own id included). */
  pairKeys: ReadonlyMap<string, Buffer>;
  /** This run's epoch (start time in ms): frames of a later run replace an earlier run's. */
  epoch: number;
}

/** Bytes of a frame `screenFrameHead` needs: its first two lines, at FRAME_ID_LIMIT characters each. */
export const FRAME_HEAD_BYTES = 2 * 1024;
/** Longest `from` or `to` line a frame may carry. */
const FRAME_ID_LIMIT = 256;

/**
 * Refuses, from the first FRAME_HEAD_BYTES of a `POST /peer/frame` body and before the
 * body is read whole, a frame that cannot be a member's frame to this node: its first line
 * must name another member, its second this node. Null when it may be one (`open` then
 * checks its MAC and counter). `complete`: `head` is the whole body.
 */
export function screenFrameHead(
  head: string,
  complete: boolean,
  selfId: string,
  isMember: (id: string) => boolean,
): { ok: false; reason: FrameRejection; error: string } | null {
  const firstEnd = head.indexOf("\n");
  const from = firstEnd < 0 ? head : head.slice(0, firstEnd);
  if (firstEnd < 0 && complete && from.length <= FRAME_ID_LIMIT) return { ok: false, reason: "malformed", error: "a frame has five header lines" };
  if (firstEnd < 0 || from.length > FRAME_ID_LIMIT || from === selfId || !isMember(from)) {
    return { ok: false, reason: "non_member", error: `sender "${clip(from)}" is not a member of this cluster` };
  }
  const secondEnd = head.indexOf("\n", firstEnd + 1);
  const to = secondEnd < 0 ? head.slice(firstEnd + 1) : head.slice(firstEnd + 1, secondEnd);
  if (secondEnd < 0 && complete && to.length <= FRAME_ID_LIMIT) return { ok: false, reason: "malformed", error: "a frame has five header lines" };
  if (to !== selfId) return { ok: false, reason: "misdirected", error: `frame is for "${clip(to)}"` };
  return null;
}

/** How far below the highest counter taken a late frame is still accepted. */
const REPLAY_WINDOW = 4096;

export class FrameCodec {
  readonly #options: FrameCodecOptions;
  readonly #sent = new Map<string, number>();
  readonly #texts = new WeakMap<PbftMessage, string>();
  readonly #received = new Map<string, { epoch: number; highest: number; counters: Set<number> }>();

  constructor(options: FrameCodecOptions) {
    this.#options = options;
  }

  seal(to: string, messages: readonly PbftMessage[]): string {
    const key = this.#options.pairKeys.get(to);
    if (!key) throw new Error(`no pair key for "${to}"`);
    const counter = (this.#sent.get(to) ?? 0) + 1;
    this.#sent.set(to, counter);
    const head = `${this.#options.selfId}\n${to}\n${this.#options.epoch}\n${counter}\n`;
    const json = `[${messages.map((message) => this.#serialized(message)).join(",")}]`;
    return `${head}${mac(key, head, json)}\n${json}`;
  }

  /** UTF-8 bytes `message` takes in a frame (serialized once, like `seal` does). */
  messageBytes(message: PbftMessage): number {
    return Buffer.byteLength(this.#serialized(message), "utf8");
  }

  /** A multicast message is one object queued for every peer: serialize it once. */
  #serialized(message: PbftMessage): string {
    let text = this.#texts.get(message);
    if (text === undefined) {
      text = JSON.stringify(message);
      this.#texts.set(message, text);
    }
    return text;
  }

  open(frame: string): OpenedFrame {
    const lines: string[] = [];
    let at = 0;
    for (let i = 0; i < 5; i++) {
      const end = frame.indexOf("\n", at);
      if (end < 0) return { ok: false, reason: "malformed", error: "a frame has five header lines" };
      lines.push(frame.slice(at, end));
      at = end + 1;
    }
    const [from = "", to = "", epochText = "", counterText = "", tag = ""] = lines;
    const json = frame.slice(at);
    const epoch = Number(epochText);
    const counter = Number(counterText);
    if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(counter)) return { ok: false, reason: "malformed", error: "frame epoch and counter must be integers" };
    const key = this.#options.pairKeys.get(from);
    if (!key || from === this.#options.selfId) return { ok: false, reason: "non_member", error: `sender "${clip(from)}" is not a member of this cluster` };
    if (to !== this.#options.selfId) return { ok: false, reason: "misdirected", error: `frame is for "${clip(to)}"` };
    const expected = Buffer.from(mac(key, `${from}\n${to}\n${epochText}\n${counterText}\n`, json), "base64");
    const given = Buffer.from(tag, "base64");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: "bad_mac", error: `frame MAC does not match sender "${from}"` };
    }
    let seen = this.#received.get(from);
    if (seen && (epoch < seen.epoch || (epoch === seen.epoch && (counter <= seen.highest - REPLAY_WINDOW || seen.counters.has(counter))))) {
      return { ok: false, reason: "replayed", error: `frame ${epoch}/${counter} from "${from}" was seen before or is too old` };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch {
      return { ok: false, reason: "malformed", error: "frame body is not JSON" };
    }
    if (!Array.isArray(raw)) return { ok: false, reason: "malformed", error: "frame body must be an array of messages" };
    if (!seen || seen.epoch !== epoch) this.#received.set(from, (seen = { epoch, highest: 0, counters: new Set() }));
    seen.counters.add(counter);
    if (counter > seen.highest) {
      seen.highest = counter;
      if (seen.counters.size > 2 * REPLAY_WINDOW) for (const c of seen.counters) if (c <= counter - REPLAY_WINDOW) seen.counters.delete(c);
    }
    const messages: PbftMessage[] = [];
    let malformed = 0;
    for (const item of raw) {
      const parsed = parsePbftMessage(item);
      if (parsed.ok) messages.push(parsed.message);
      else malformed++;
    }
    return { ok: true, from, messages, malformed };
  }

  /** The authenticator of a request made by this node: one MAC per member. */
  authenticate(request: Omit<PbftRequest, "auth">): PbftRequest {
    const digest = requestDigest(request);
    const auth: Record<string, string> = {};
    for (const [id, key] of this.#options.pairKeys) auth[id] = requestMac(key, digest);
    return { ...request, auth };
  }

  /** Whether the request's entry for this node was made by its client. */
  verifyRequest(request: PbftRequest): boolean {
    const key = this.#options.pairKeys.get(request.client);
    const given = request.auth[this.#options.selfId];
    if (!key || given === undefined) return false;
    return given === requestMac(key, requestDigest(request));
  }
}

function mac(key: Buffer, head: string, json: string): string {
  return createHmac("sha256", key).update(head).update(json).digest("base64");
}

function requestMac(key: Buffer, digest: string): string {
  return createHmac("sha256", key).update(digest).digest("base64").slice(0, 22);
}
