import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import type { NodePeer } from "../../lib/node-config.ts";

/**
 * The cluster's identities: this node's Ed25519 signing key and every member's public key.
 * Everything a node signs is a UTF-8 string (a block hash, a canonical JSON message).
 */
export class PeerKeys {
  readonly selfId: string;
  readonly #privateKey: KeyObject;
  readonly #publicKeys: ReadonlyMap<string, KeyObject>;

  constructor(options: { selfId: string; privateKeyPem: string; peers: readonly NodePeer[] }) {
    this.selfId = options.selfId;
    this.#privateKey = createPrivateKey(options.privateKeyPem);
    this.#publicKeys = new Map(options.peers.map((peer) => [peer.id, createPublicKey(peer.public_key)]));
  }

  isMember(id: string): boolean {
    return this.#publicKeys.has(id);
  }

  /** Base64 Ed25519 signature by this node. */
  sign(text: string): string {
    return sign(null, Buffer.from(text, "utf8"), this.#privateKey).toString("base64");
  }

  /** Whether `signature` is `signer`'s over `text`; false for non-members and malformed input. */
  verify(signer: string, text: string, signature: string): boolean {
    const key = this.#publicKeys.get(signer);
    if (!key) return false;
    try {
      return verify(null, Buffer.from(text, "utf8"), key, Buffer.from(signature, "base64"));
    } catch {
      return false;
    }
  }
}
