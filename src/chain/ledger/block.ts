import { canonicalJson, sha256Hex } from "./canonical-json.ts";

/** A point in time as Fabric 0.6 printed it (google.protobuf.Timestamp). */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** Fabric 0.6 transaction types. */
export const TX_TYPE = { deploy: 1, invoke: 2 } as const;
export type TxType = (typeof TX_TYPE)[keyof typeof TX_TYPE];

/** How a transaction names its chaincode: by path, by short name or by instance name. */
export interface ChaincodeRef {
  path?: string;
  name?: string;
}

/** A chaincode call as the client sent it. */
export interface TxPayload {
  function: string;
  args: string[];
}

export interface Transaction {
  type: TxType;
  /** Same value as `uuid`; both spellings were used by Fabric 0.6 clients. */
  txid: string;
  uuid: string;
  chaincodeID: ChaincodeRef;
  payload: TxPayload;
  /** When the receiving node accepted it. */
  timestamp: Timestamp;
  /**
   * A JavaScript chaincode deploy's package (base64 of one file or of a gzip'd tar), as
   * Fabric's ChaincodeDeploymentSpec carried it; absent for everything else.
   */
  codePackage?: string;
}

/** An event a chaincode set during a transaction (`stub.setEvent`), recorded with its result. */
export interface ChaincodeEvent {
  name: string;
  payload: string;
}

/**
 * What executing one transaction did. Part of the hashed block, so that every node
 * agrees on which transactions failed and why; a failed one changed no state.
 */
export interface TransactionResult {
  uuid: string;
  /** 0 on success, 1 when the chaincode refused. */
  errorCode: 0 | 1;
  /** Chaincode answer on success (deploy: the instance name), empty otherwise. */
  result: string;
  /** Why it failed, empty on success. */
  error: string;
  /** Events the chaincode set, on success only; absent when none (so older blocks hash as before). */
  events?: ChaincodeEvent[];
}

export interface Block {
  /** 0 for genesis. */
  number: number;
  /** Hash of block number-1; empty for genesis. */
  previousBlockHash: string;
  /** Hash of the world state after executing this block's transactions. */
  stateHash: string;
  /** Node that ordered the block; empty for genesis. */
  proposerID: string;
  /** Assigned by the proposer, never by followers, so that replay is deterministic. */
  timestamp: Timestamp;
  transactions: Transaction[];
  transactionResults: TransactionResult[];
  /**
   * Consensus-specific data covered by the hash: the cluster identity in genesis;
   * empty for noops blocks; a view/sequence number for pbft.
   */
  consensusMetadata: Record<string, unknown>;
  /** SHA-256 (hex) of the canonical JSON of every field above. */
  hash: string;
  /** Proposer's Ed25519 signature (base64) over `hash`; empty for genesis. */
  signature: string;
}

export type UnsignedBlock = Omit<Block, "hash" | "signature">;

/** The hash of a block: every field except `hash` and `signature`. */
export function computeBlockHash(block: UnsignedBlock): string {
  return sha256Hex(
    canonicalJson({
      number: block.number,
      previousBlockHash: block.previousBlockHash,
      stateHash: block.stateHash,
      proposerID: block.proposerID,
      timestamp: block.timestamp,
      transactions: block.transactions,
      transactionResults: block.transactionResults,
      consensusMetadata: block.consensusMetadata,
    }),
  );
}

export function timestampFromMillis(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

export function timestampToMillis(ts: Timestamp): number {
  return ts.seconds * 1000 + Math.floor(ts.nanos / 1_000_000);
}
