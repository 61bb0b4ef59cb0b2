import { Buffer } from "node:buffer";
import { createHash, createHmac, createPrivateKey, createPublicKey } from "node:crypto";
import type { NodePeer } from "../../lib/node-config.ts";

/**
 * Per-pair MAC keys, as PBFT's authenticators use them: every two members of a cluster
 * share one secret, derived without any exchange from the Ed25519 keys the daemon made
 * for the cluster. Each Ed25519 key is also an X25519 key (RFC 7748: the clamped
 * SHA-512 of the seed as scalar, the birational map of the Edwards point as u), so
 * X25519(mine, theirs) is the same number on both sides; HMAC-SHA256 of it with the
 * cluster id and the two ids gives the pair's key. Pure BigInt arithmetic, run once per
 * pair at start, so it works wherever node:crypto has SHA-2 (Node and Deno alike).
 */
export function derivePairKeys(options: { clusterId: string; selfId: string; privateKeyPem: string; peers: readonly NodePeer[] }): Map<string, Buffer> {
  const seed = createPrivateKey(options.privateKeyPem).export({ format: "der", type: "pkcs8" }).subarray(-32);
  const scalar = x25519ScalarFromSeed(seed);
  const keys = new Map<string, Buffer>();
  for (const peer of options.peers) {
    const edPublic = createPublicKey(peer.public_key).export({ format: "der", type: "spki" }).subarray(-32);
    const shared = x25519(scalar, montgomeryU(edPublic));
    const [a, b] = [options.selfId, peer.id].sort();
    keys.set(peer.id, createHmac("sha256", shared).update(`chainpool-pbft-pair|${options.clusterId}|${a}|${b}`).digest());
  }
  return keys;
}

const P = 2n ** 255n - 19n;
const A24 = 121665n;

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

function fromLittleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  return value;
}

function toLittleEndian(value: bigint): Buffer {
  const out = Buffer.alloc(32);
  let v = value;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The X25519 scalar of an Ed25519 seed: the clamped low half of SHA-512(seed). */
export function x25519ScalarFromSeed(seed: Uint8Array): bigint {
  const h = createHash("sha512").update(seed).digest().subarray(0, 32);
  h[0] = (h[0] ?? 0) & 248;
  h[31] = ((h[31] ?? 0) & 127) | 64;
  return fromLittleEndian(h);
}

/** The Montgomery u of an Ed25519 public key: u = (1 + y) / (1 - y). */
export function montgomeryU(edPublic: Uint8Array): bigint {
  const bytes = Uint8Array.from(edPublic);
  bytes[31] = (bytes[31] ?? 0) & 0x7f;
  const y = fromLittleEndian(bytes);
  return mod((1n + y) * power(mod(1n - y), P - 2n));
}

/** RFC 7748 X25519 (Montgomery ladder); answers the shared u as 32 little-endian bytes. */
export function x25519(k: bigint, u: bigint): Buffer {
  const x1 = u;
  let x2 = 1n;
  let z2 = 0n;
  let x3 = u;
  let z3 = 1n;
  let swap = 0n;
  for (let t = 254n; t >= 0n; t--) {
    const kt = (k >> t) & 1n;
    swap ^= kt;
    if (swap) {
      [x2, x3] = [x3, x2];
      [z2, z3] = [z3, z2];
    }
    swap = kt;
    const a = mod(x2 + z2);
    const aa = (a * a) % P;
    const b = mod(x2 - z2);
    const bb = (b * b) % P;
    const e = mod(aa - bb);
    const c = mod(x3 + z3);
    const d = mod(x3 - z3);
    const da = (d * a) % P;
    const cb = (c * b) % P;
    x3 = mod((da + cb) * (da + cb));
    z3 = mod(x1 * mod((da - cb) * (da - cb)));
    x2 = (aa * bb) % P;
    z2 = mod(e * (aa + A24 * e));
  }
  if (swap) {
    [x2, x3] = [x3, x2];
    [z2, z3] = [z3, z2];
  }
  return toLittleEndian(mod(x2 * power(z2, P - 2n)));
}
