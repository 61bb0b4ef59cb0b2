import { generateKeyPairSync } from "node:crypto";

export interface NodeKeyPair {
  /** Ed25519 public key, SPKI PEM. */
  publicKey: string;
  /** Ed25519 private key, PKCS#8 PEM. */
  privateKey: string;
}

/** Fresh Ed25519 identity for one chain node; the daemon makes one per node per cluster. */
export function generateNodeKeys(): NodeKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return {
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}
