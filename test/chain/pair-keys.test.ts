import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { derivePairKeys, x25519 } from "../../src/chain/peer/pair-keys.ts";
import { FrameCodec } from "../../src/chain/consensus/pbft/pbft-frames.ts";
import { testIdentities } from "./helpers/fixtures.ts";

function littleEndian(hex: string): bigint {
  return BigInt(`0x${Buffer.from(hex, "hex").reverse().toString("hex")}`);
}

describe("per-pair MAC keys", () => {
  it("x25519 gives RFC 7748's test vector", () => {
    const scalarBytes = Buffer.from("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "hex");
    scalarBytes[0]! &= 248;
    scalarBytes[31] = (scalarBytes[31]! & 127) | 64;
    const scalar = littleEndian(scalarBytes.toString("hex"));
    const u = littleEndian("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
    assert.equal(x25519(scalar, u).toString("hex"), "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  });

  it("both ends of a pair derive the same key from their own Ed25519 keys; other pairs and clusters differ", () => {
    const identities = testIdentities(3);
    const peers = identities.map((i) => i.peer);
    const keysOf = (index: number, clusterId = "c1") =>
      derivePairKeys({ clusterId, selfId: peers[index]!.id, privateKeyPem: identities[index]!.keys.privateKey, peers });
    const [k0, k1, k2] = [keysOf(0), keysOf(1), keysOf(2)];
    assert.deepEqual(k0.get("vp1"), k1.get("vp0"));
    assert.deepEqual(k1.get("vp2"), k2.get("vp1"));
    assert.notDeepEqual(k0.get("vp1"), k0.get("vp2"));
    assert.notDeepEqual(keysOf(0, "c2").get("vp1"), k0.get("vp1"));
  });

  it("a request's authenticator verifies at every member, and not once changed", () => {
    const identities = testIdentities(4);
    const peers = identities.map((i) => i.peer);
    const codecs = identities.map((identity, index) => new FrameCodec({ selfId: peers[index]!.id, pairKeys: derivePairKeys({ clusterId: "c1", selfId: peers[index]!.id, privateKeyPem: identity.keys.privateKey, peers }), epoch: 1 }));
    const request = codecs[2]!.authenticate({ client: "vp2", number: 7, operation: { x: 1 } });
    for (const codec of codecs) assert.equal(codec.verifyRequest(request), true);
    assert.equal(codecs[0]!.verifyRequest({ ...request, operation: { x: 2 } }), false);
    assert.equal(codecs[0]!.verifyRequest({ ...request, client: "vp3" }), false);
  });
});
