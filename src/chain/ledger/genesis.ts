import { createPublicKey } from "node:crypto";
import type { NodePeer } from "../../lib/node-config.ts";
import { computeBlockHash } from "./block.ts";
import type { Block, UnsignedBlock } from "./block.ts";
import { WorldState } from "./world-state.ts";

export interface GenesisOptions {
  clusterId: string;
  peers: readonly NodePeer[];
}

/**
 * Block 0, a pure function of the cluster id and its members (ids and public keys, in
 * order), so that every node of a cluster starts from the same block and two clusters
 * never share one. URLs are left out: a node may move without changing its chain.
 * Keys are taken as DER, so PEM line breaks cannot change the hash.
 */
export function createGenesisBlock(options: GenesisOptions): Block {
  const unsigned: UnsignedBlock = {
    number: 0,
    previousBlockHash: "",
    stateHash: new WorldState().hash(),
    proposerID: "",
    timestamp: { seconds: 0, nanos: 0 },
    transactions: [],
    transactionResults: [],
    consensusMetadata: {
      cluster_id: options.clusterId,
      peers: options.peers.map((peer) => ({
        id: peer.id,
        public_key: createPublicKey(peer.public_key).export({ type: "spki", format: "der" }).toString("base64"),
      })),
    },
  };
  return { ...unsigned, hash: computeBlockHash(unsigned), signature: "" };
}
