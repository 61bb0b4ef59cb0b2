/**
 * The PBFT protocol's values and messages (Castro and Liskov, TOCS 2002), independent of
 * how they travel. A request is a client operation with a client id and a request
 * number (exactly-once key) and an authenticator: one MAC per replica, made by the
 * client with the key it shares with that replica. A batch is what one sequence number
 * orders; its digest is the SHA-256 of its canonical JSON.
 */
import { canonicalJson, sha256Hex } from "../../ledger/canonical-json.ts";

export interface PbftRequest {
  /** The node that took the request from its client. */
  client: string;
  /** Unique per client; with `client` the exactly-once key. */
  number: number;
  /** The operation; opaque to the protocol (a chain transaction in the node). */
  operation: unknown;
  /** Replica id -> MAC of `requestDigest` with the key `client` shares with that replica. */
  auth: Record<string, string>;
}

export interface PbftBatch {
  /** The primary that cut it (the block's proposer). */
  proposer: string;
  /** The primary's clock when it cut it, in ms (the block's timestamp). */
  timestamp: number;
  requests: PbftRequest[];
}

export interface Checkpoint {
  seq: number;
  digest: string;
}

/** One P or Q entry of a view-change: what was prepared (P) or pre-prepared (Q) at `seq`. */
export interface CertEntry {
  seq: number;
  view: number;
  digest: string;
}

/** P entries carry their batch (null for the null request), so a new-view can re-propose it. */
export interface PreparedEntry extends CertEntry {
  batch: PbftBatch | null;
}

export interface ViewChange {
  /** The view being moved to. */
  view: number;
  replica: string;
  /** The sender's last stable checkpoint (its low watermark). */
  h: number;
  /** Checkpoints the sender holds at or above h. */
  cset: Checkpoint[];
  pset: PreparedEntry[];
  qset: CertEntry[];
}

/** View-changes travel signed (Ed25519), because a new-view forwards them to third parties. */
export interface SignedViewChange {
  body: ViewChange;
  signature: string;
}

/** A new-view's pre-prepare for one sequence number; digest "" is the null request. */
export interface NewViewEntry {
  seq: number;
  digest: string;
  batch: PbftBatch | null;
}

export type PbftMessage =
  | { type: "request"; request: PbftRequest }
  | { type: "preprepare"; view: number; seq: number; digest: string; batch: PbftBatch }
  | { type: "prepare"; view: number; seq: number; digest: string }
  | { type: "commit"; view: number; seq: number; digest: string }
  | { type: "checkpoint"; seq: number; digest: string }
  | { type: "viewchange"; signed: SignedViewChange }
  | { type: "newview"; view: number; viewChanges: SignedViewChange[]; entries: NewViewEntry[] }
  | {
      type: "status";
      view: number;
      /** False while the sender is changing views. */
      active: boolean;
      /** Last sequence number executed, and the application state digest after it. */
      executed: number;
      digest: string;
      /** Highest sequence number the sender saw pre-prepared in `view`. */
      maxSeq: number;
      /** Asks for the addressee's status at once. */
      wantReply: boolean;
    };

export type PbftMessageType = PbftMessage["type"];

export function requestKey(request: Pick<PbftRequest, "client" | "number">): string {
  return `${request.client}:${request.number}`;
}

/**
 * What a request's authenticator covers: everything but the authenticator. Digests use
 * plain JSON.stringify, not canonical JSON (a third of a node's CPU under load went to
 * sorting keys): every replica digests the same parsed text, and JSON.parse keeps its key
 * order, so equal messages give equal digests; a sender that reorders keys only makes
 * its own request or batch fail to verify.
 */
export function requestDigest(request: Omit<PbftRequest, "auth">): string {
  return sha256Hex(JSON.stringify([request.client, request.number, request.operation]));
}

export function batchDigest(batch: PbftBatch): string {
  return sha256Hex(JSON.stringify([batch.proposer, batch.timestamp, batch.requests]));
}

export function viewChangeText(body: ViewChange): string {
  return canonicalJson(body);
}

// ---- shape checks for messages that arrive from the network ----

export type ParsedMessage = { ok: true; message: PbftMessage } | { ok: false; error: string };

class ShapeError extends Error {}

function fail(message: string): never {
  throw new ShapeError(message);
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function seqNumber(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail(`${field} must be a non-negative integer`);
  return value;
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string") fail(`${field} must be a string`);
  return value;
}

function list(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) fail(`${field} must be an array`);
  return value;
}

function readRequest(value: unknown, field: string): PbftRequest {
  const o = object(value, field);
  const auth = object(o["auth"], `${field}.auth`);
  for (const [id, mac] of Object.entries(auth)) text(mac, `${field}.auth.${id}`);
  if (o["operation"] === undefined) fail(`${field}.operation is missing`);
  return {
    client: text(o["client"], `${field}.client`),
    number: seqNumber(o["number"], `${field}.number`),
    operation: o["operation"],
    auth: auth as Record<string, string>,
  };
}

function readBatch(value: unknown, field: string): PbftBatch {
  const o = object(value, field);
  return {
    proposer: text(o["proposer"], `${field}.proposer`),
    timestamp: seqNumber(o["timestamp"], `${field}.timestamp`),
    requests: list(o["requests"], `${field}.requests`).map((r, i) => readRequest(r, `${field}.requests[${i}]`)),
  };
}

function readOptionalBatch(value: unknown, field: string): PbftBatch | null {
  return value === null || value === undefined ? null : readBatch(value, field);
}

function readEntry(value: unknown, field: string): CertEntry {
  const o = object(value, field);
  return { seq: seqNumber(o["seq"], `${field}.seq`), view: seqNumber(o["view"], `${field}.view`), digest: text(o["digest"], `${field}.digest`) };
}

function readViewChange(value: unknown, field: string): SignedViewChange {
  const o = object(value, field);
  const b = object(o["body"], `${field}.body`);
  return {
    signature: text(o["signature"], `${field}.signature`),
    body: {
      view: seqNumber(b["view"], `${field}.body.view`),
      replica: text(b["replica"], `${field}.body.replica`),
      h: seqNumber(b["h"], `${field}.body.h`),
      cset: list(b["cset"], `${field}.body.cset`).map((c, i) => {
        const co = object(c, `${field}.body.cset[${i}]`);
        return { seq: seqNumber(co["seq"], `${field}.body.cset[${i}].seq`), digest: text(co["digest"], `${field}.body.cset[${i}].digest`) };
      }),
      pset: list(b["pset"], `${field}.body.pset`).map((p, i) => ({
        ...readEntry(p, `${field}.body.pset[${i}]`),
        batch: readOptionalBatch(object(p, `${field}.body.pset[${i}]`)["batch"], `${field}.body.pset[${i}].batch`),
      })),
      qset: list(b["qset"], `${field}.body.qset`).map((q, i) => readEntry(q, `${field}.body.qset[${i}]`)),
    },
  };
}

/** Checks the shape of one message; the protocol checks everything else. */
export function parsePbftMessage(value: unknown): ParsedMessage {
  try {
    const o = object(value, "message");
    const type = o["type"];
    switch (type) {
      case "request":
        return { ok: true, message: { type, request: readRequest(o["request"], "message.request") } };
      case "preprepare":
        return {
          ok: true,
          message: {
            type,
            view: seqNumber(o["view"], "message.view"),
            seq: seqNumber(o["seq"], "message.seq"),
            digest: text(o["digest"], "message.digest"),
            batch: readBatch(o["batch"], "message.batch"),
          },
        };
      case "prepare":
      case "commit":
        return { ok: true, message: { type, view: seqNumber(o["view"], "message.view"), seq: seqNumber(o["seq"], "message.seq"), digest: text(o["digest"], "message.digest") } };
      case "checkpoint":
        return { ok: true, message: { type, seq: seqNumber(o["seq"], "message.seq"), digest: text(o["digest"], "message.digest") } };
      case "viewchange":
        return { ok: true, message: { type, signed: readViewChange(o["signed"], "message.signed") } };
      case "newview":
        return {
          ok: true,
          message: {
            type,
            view: seqNumber(o["view"], "message.view"),
            viewChanges: list(o["viewChanges"], "message.viewChanges").map((v, i) => readViewChange(v, `message.viewChanges[${i}]`)),
            entries: list(o["entries"], "message.entries").map((e, i) => {
              const eo = object(e, `message.entries[${i}]`);
              return {
                seq: seqNumber(eo["seq"], `message.entries[${i}].seq`),
                digest: text(eo["digest"], `message.entries[${i}].digest`),
                batch: readOptionalBatch(eo["batch"], `message.entries[${i}].batch`),
              };
            }),
          },
        };
      case "status":
        if (typeof o["active"] !== "boolean" || typeof o["wantReply"] !== "boolean") fail("message.active and message.wantReply must be booleans");
        return {
          ok: true,
          message: {
            type,
            view: seqNumber(o["view"], "message.view"),
            active: o["active"],
            executed: seqNumber(o["executed"], "message.executed"),
            digest: text(o["digest"], "message.digest"),
            maxSeq: seqNumber(o["maxSeq"], "message.maxSeq"),
            wantReply: o["wantReply"],
          },
        };
      default:
        return { ok: false, error: `message.type "${String(type)}" is not a PBFT message` };
    }
  } catch (error: unknown) {
    if (error instanceof ShapeError) return { ok: false, error: error.message };
    throw error;
  }
}
