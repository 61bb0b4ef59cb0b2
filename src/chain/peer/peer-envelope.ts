import { canonicalJson } from "../ledger/canonical-json.ts";
import { clip } from "../log/clip.ts";
import type { PeerKeys } from "./peer-keys.ts";

/** One node-to-node message; `kind` and `body` belong to the consensus plugin. */
export interface PeerMessage {
  cluster_id: string;
  from: string;
  to: string;
  kind: string;
  body: unknown;
}

/** What travels over HTTP: the message and the sender's signature over its canonical JSON. */
export interface SignedEnvelope {
  message: PeerMessage;
  signature: string;
}

/** Why a node-to-node message was refused; the last two concern MAC'd PBFT frames (pbft-frames.ts). */
export const REJECTION_REASONS = ["malformed", "non_member", "bad_signature", "misdirected", "bad_mac", "replayed"] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export type EnvelopeRejection = { ok: false; reason: RejectionReason; error: string };
export type OpenedEnvelope = { ok: true; message: PeerMessage } | EnvelopeRejection;

export function sealMessage(keys: PeerKeys, message: PeerMessage): SignedEnvelope {
  return { message, signature: keys.sign(canonicalJson(message)) };
}

/**
 * Accepts an envelope only if it is well formed, its sender is a member, the signature is
 * that member's, and it was meant for this node of this cluster. Messages carry no replay
 * protection: every kind must be idempotent (blocks and transactions are keyed by number
 * and uuid), so a replayed message changes nothing.
 */
export function openEnvelope(keys: PeerKeys, clusterId: string, input: unknown): OpenedEnvelope {
  if (typeof input !== "object" || input === null) return malformed("the envelope must be an object");
  const { message, signature } = input as Record<string, unknown>;
  if (typeof signature !== "string") return malformed("signature must be a string");
  if (typeof message !== "object" || message === null) return malformed("message must be an object");
  const m = message as Record<string, unknown>;
  for (const field of ["cluster_id", "from", "to", "kind"] as const) {
    if (typeof m[field] !== "string") return malformed(`message.${field} must be a string`);
  }
  const parsed: PeerMessage = {
    cluster_id: m["cluster_id"] as string,
    from: m["from"] as string,
    to: m["to"] as string,
    kind: m["kind"] as string,
    body: m["body"] ?? null,
  };
  if (!keys.isMember(parsed.from)) return notMember(parsed.from);
  if (!keys.verify(parsed.from, canonicalJson(parsed), signature)) {
    return { ok: false, reason: "bad_signature", error: `signature does not match sender "${parsed.from}"` };
  }
  if (parsed.cluster_id !== clusterId || parsed.to !== keys.selfId) return misdirected(parsed.to, parsed.cluster_id);
  return { ok: true, message: parsed };
}

/**
 * How many bytes of a `POST /peer/message` body `screenEnvelopeHead` needs: enough for the
 * three ids at ENVELOPE_ID_LIMIT characters each, every one of them escaped.
 */
export const ENVELOPE_HEAD_BYTES = 8 * 1024;
/** Longest cluster or node id a peer message may carry. */
export const ENVELOPE_ID_LIMIT = 256;

/**
 * Refuses, from the first ENVELOPE_HEAD_BYTES of a body and before the body is read whole
 * or parsed, what cannot be a member's message to this node: members send the envelope as
 * `JSON.stringify` of `sealMessage` writes it, `{"message":{"cluster_id":..,"from":..,"to":..,`
 * first. A sender that is not a member, or a message for another node or cluster, is
 * refused with the reason `openEnvelope` would give, without reading megabytes first.
 * Answers null when the head may be a member's message (`openEnvelope` still checks it all).
 * `complete`: `head` is the whole body.
 */
export function screenEnvelopeHead(keys: PeerKeys, clusterId: string, head: string, complete: boolean): EnvelopeRejection | null {
  const reader = new JsonHeadReader(head, complete);
  if (!reader.take("{") || reader.key() !== "message" || !reader.take(":") || !reader.take("{")) {
    return malformed('a peer message is {"message": {"cluster_id", "from", "to", "kind", "body"}, "signature"}, in that order');
  }
  const fields: Record<string, string | typeof TOO_LONG> = {};
  for (const [index, name] of (["cluster_id", "from", "to"] as const).entries()) {
    if ((index > 0 && !reader.take(",")) || reader.key() !== name || !reader.take(":")) {
      return malformed(`a peer message's fields come in the order cluster_id, from, to, kind, body (expected "${name}")`);
    }
    const value = reader.string(ENVELOPE_ID_LIMIT);
    if (value === undefined) return malformed(`message.${name} must be a string`);
    fields[name] = value;
    // A sender that is no member is told so as soon as it is known.
    if (name === "from" && (value === TOO_LONG || !keys.isMember(value))) return notMember(value === TOO_LONG ? reader.raw : value);
    if (value === TOO_LONG) break;
  }
  const { cluster_id: cluster = "", to = "" } = fields;
  if (cluster !== clusterId || to !== keys.selfId) return misdirected(to === TOO_LONG ? "another node" : to, cluster === TOO_LONG ? "another cluster" : cluster);
  return null;
}

function notMember(from: string): EnvelopeRejection {
  return { ok: false, reason: "non_member", error: `sender "${clip(from)}" is not a member of this cluster` };
}

function misdirected(to: string, clusterId: string): EnvelopeRejection {
  return { ok: false, reason: "misdirected", error: `message is for ${clip(to)} of cluster ${clip(clusterId)}` };
}

const TOO_LONG = Symbol("too long");

/** Reads the first tokens of a JSON text that may be cut short, never more than it must. */
class JsonHeadReader {
  readonly #text: string;
  readonly #complete: boolean;
  #at = 0;
  /** The raw text of the last string read (or as much of it as there was). */
  raw = "";

  constructor(text: string, complete: boolean) {
    this.#text = text;
    this.#complete = complete;
  }

  take(char: string): boolean {
    this.#skipSpace();
    if (this.#text[this.#at] !== char) return false;
    this.#at++;
    return true;
  }

  key(): string | undefined {
    const value = this.string(64);
    return typeof value === "string" ? value : undefined;
  }

  /** A JSON string of at most `max` characters, TOO_LONG for a longer one, undefined for anything else. */
  string(max: number): string | typeof TOO_LONG | undefined {
    this.#skipSpace();
    const start = this.#at;
    if (this.#text[start] !== '"') return undefined;
    // An escape takes at most 6 characters per character it stands for.
    const rawLimit = 6 * max + 2;
    let end = start + 1;
    while (end < this.#text.length && this.#text[end] !== '"' && end - start < rawLimit) end += this.#text[end] === "\\" ? 2 : 1;
    this.raw = this.#text.slice(start + 1, Math.min(end, this.#text.length));
    if (end - start >= rawLimit || (end >= this.#text.length && !this.#complete)) return TOO_LONG;
    if (end >= this.#text.length) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(this.#text.slice(start, end + 1));
    } catch {
      return undefined;
    }
    this.#at = end + 1;
    if (typeof value !== "string") return undefined;
    return value.length > max ? TOO_LONG : value;
  }

  #skipSpace(): void {
    while (/\s/.test(this.#text[this.#at] ?? "")) this.#at++;
  }
}

function malformed(error: string): EnvelopeRejection {
  return { ok: false, reason: "malformed", error };
}
