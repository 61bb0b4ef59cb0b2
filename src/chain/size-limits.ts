import { Buffer } from "node:buffer";
import { MAX_PACKAGE_BYTES_CEILING } from "../lib/node-config.ts";

/**
 * Every byte limit of the chain node, in one place because they only work together: a
 * block must always fit in what one node accepts from another, or a follower can never
 * take it and stays behind for good. Sizes are UTF-8 bytes of JSON, as blocks travel and
 * are stored (`JSON.stringify`), not string lengths.
 *
 *   code package (1 MiB) -> base64 (4/3) -> client body (1.33 MiB + 64 KiB)
 *   -> transaction (<= body + 64 KiB) -> result (<= same)
 *   -> block (<= 4 MiB, any one transaction with its result always fits)
 *   -> push (<= 512 KiB of blocks, or one block) / page (<= 1 MiB, or one block)
 *   -> peer body limit (16 MiB) / peer reply limit (32 MiB): 4x margin over a block.
 */

/** Largest JavaScript chaincode package (decoded `codePackage`; a node may set a lower limit). */
export const MAX_CODE_PACKAGE_BYTES = MAX_PACKAGE_BYTES_CEILING;
/** base64 of MAX_CODE_PACKAGE_BYTES: 4 characters for every 3 bytes, padded. */
export const MAX_CODE_PACKAGE_BASE64_CHARS = Math.ceil(MAX_CODE_PACKAGE_BYTES / 3) * 4;
/**
 * Largest body a client may send (413 above): a deploy carrying the largest package in
 * base64, with 64 KiB for the rest of the request (chaincode id, ctorMsg).
 */
export const CLIENT_BODY_LIMIT = MAX_CODE_PACKAGE_BASE64_CHARS + 64 * 1024;
/** Largest body another node may send: pushes of blocks, forwarded transactions, pbft frames. */
export const PEER_BODY_LIMIT = 16 * 1024 * 1024;
/** Largest reply a node reads from another (pages of blocks). */
export const PEER_REPLY_LIMIT = 32 * 1024 * 1024;

/**
 * Largest transaction. Any transaction a client can send within CLIENT_BODY_LIMIT fits
 * (the node adds a uuid and a timestamp; JSON.stringify never lengthens valid JSON text),
 * unless the body was not valid UTF-8, whose bad bytes grow into 3-byte U+FFFD.
 */
export const MAX_TRANSACTION_BYTES = CLIENT_BODY_LIMIT + 64 * 1024;
/**
 * Largest result record (`{uuid, errorCode, result, error}`) a block may hold for one
 * transaction. A larger one is recorded as failed instead (the same on every node), so a
 * `get` of any value a `put` could store fits, and `keys` of a huge map fails clearly.
 */
export const MAX_RESULT_BYTES = MAX_TRANSACTION_BYTES;
/** A failed transaction's error is cut to this many characters: errors are for people. */
export const MAX_ERROR_CHARS = 4096;

/** Largest block, whatever the consensus plugin or mode. */
export const MAX_BLOCK_BYTES = 4 * 1024 * 1024;
/** Kept free in every block for its fixed fields, hashes, signature and consensus metadata. */
export const BLOCK_RESERVE_BYTES = 16 * 1024;
/** Counted for each transaction on top of it and its result: separators and per-transaction consensus metadata (pbft request keys). */
export const PER_TRANSACTION_RESERVE_BYTES = 256;

/** About how many bytes of blocks one push to a follower carries (always at least one block). */
export const PUSH_BUDGET_BYTES = 512 * 1024;
/** About how many bytes of blocks one `GET /peer/blocks` page carries (always at least one block). */
export const PAGE_BUDGET_BYTES = 1024 * 1024;
/** Room for the envelope around the blocks of a push (ids, kind, signature). */
export const PUSH_ENVELOPE_BYTES = 64 * 1024;

/** Largest batch of pbft requests one pre-prepare carries (always at least one request). */
export const MAX_BATCH_BYTES = MAX_BLOCK_BYTES;
/** About how many bytes one pbft frame carries (always at least one message). */
export const FRAME_BUDGET_BYTES = 4 * 1024 * 1024;

/** The size of `value` as it is stored and sent: UTF-8 bytes of its JSON. */
export function encodedBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}

// The relations above, checked when the module loads: a change that breaks one fails at once.
if (MAX_CODE_PACKAGE_BASE64_CHARS + 1024 > CLIENT_BODY_LIMIT) throw new Error("size-limits: a deploy of the largest package must fit in a client body");
const singleTransactionBlock = BLOCK_RESERVE_BYTES + MAX_TRANSACTION_BYTES + MAX_RESULT_BYTES + PER_TRANSACTION_RESERVE_BYTES;
if (singleTransactionBlock > MAX_BLOCK_BYTES) throw new Error("size-limits: one transaction and its result must fit in a block");
if (Math.max(PUSH_BUDGET_BYTES, MAX_BLOCK_BYTES) + PUSH_ENVELOPE_BYTES > PEER_BODY_LIMIT / 2) {
  throw new Error("size-limits: a push must stay well below the peer body limit");
}
if (Math.max(PAGE_BUDGET_BYTES, MAX_BLOCK_BYTES) > PEER_REPLY_LIMIT / 4) throw new Error("size-limits: a page must stay well below the peer reply limit");
// A frame holds FRAME_BUDGET_BYTES or one message; a pre-prepare, MAX_BATCH_BYTES or one request.
if (Math.max(FRAME_BUDGET_BYTES, MAX_BATCH_BYTES, MAX_TRANSACTION_BYTES) + PUSH_ENVELOPE_BYTES > PEER_BODY_LIMIT / 2) {
  throw new Error("size-limits: a pbft frame must stay well below the peer body limit");
}
