/** Pure fixtures for unit tests of the chain node: peers, keys and transactions. */
import type { NodePeer } from "../../../src/lib/node-config.ts";
import { generateNodeKeys } from "../../../src/lib/node-keys.ts";
import type { NodeKeyPair } from "../../../src/lib/node-keys.ts";
import { TX_TYPE } from "../../../src/chain/ledger/block.ts";
import type { ChaincodeRef, Transaction } from "../../../src/chain/ledger/block.ts";

export interface TestIdentity {
  peer: NodePeer;
  keys: NodeKeyPair;
}

export function testIdentities(count: number): TestIdentity[] {
  return Array.from({ length: count }, (_, index) => {
    const keys = generateNodeKeys();
    return { keys, peer: { id: `vp${index}`, url: `http://127.0.0.1:${7050 + index}`, public_key: keys.publicKey } };
  });
}

let counter = 0;

/** A transaction with a fresh uuid and a fixed timestamp. */
export function tx(type: "deploy" | "invoke", chaincodeID: ChaincodeRef, fn: string, args: string[]): Transaction {
  counter++;
  const uuid = `00000000-0000-4000-8000-${counter.toString().padStart(12, "0")}`;
  return {
    type: TX_TYPE[type],
    txid: uuid,
    uuid,
    chaincodeID,
    payload: { function: fn, args },
    timestamp: { seconds: 1_700_000_000, nanos: counter },
  };
}
