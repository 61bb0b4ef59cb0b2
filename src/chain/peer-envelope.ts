import { canonicalJson } from "./canonical-json.ts";
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

export type OpenedEnvelope = { ok: true; message: PeerMessage } | { ok: false; reason: RejectionReason; error: string };

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
  if (!keys.isMember(parsed.from)) {
    return { ok: false, reason: "non_member", error: `sender "${parsed.from}" is not a member of this cluster` };
  }
  if (!keys.verify(parsed.from, canonicalJson(parsed), signature)) {
    return { ok: false, reason: "bad_signature", error: `signature does not match sender "${parsed.from}"` };
  }
  if (parsed.cluster_id !== clusterId || parsed.to !== keys.selfId) {
    return { ok: false, reason: "misdirected", error: `message is for ${parsed.to} of cluster ${parsed.cluster_id}` };
  }
  return { ok: true, message: parsed };
}

function malformed(error: string): OpenedEnvelope {
  return { ok: false, reason: "malformed", error };
}
