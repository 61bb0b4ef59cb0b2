/**
 * What a node refuses from the first bytes of a /peer/* body, before reading or parsing
 * the rest: anything that cannot be a member's message or frame to this node.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { derivePairKeys } from "../../src/chain/peer/pair-keys.ts";
import { FrameCodec, screenFrameHead } from "../../src/chain/consensus/pbft/pbft-frames.ts";
import { ENVELOPE_HEAD_BYTES, openEnvelope, screenEnvelopeHead, sealMessage } from "../../src/chain/peer/peer-envelope.ts";
import { PeerKeys } from "../../src/chain/peer/peer-keys.ts";
import { testIdentities } from "./helpers/fixtures.ts";

const identities = testIdentities(4);
const peers = identities.map((i) => i.peer);
const keysOf = (index: number) => new PeerKeys({ selfId: `vp${index}`, privateKeyPem: identities[index]!.keys.privateKey, peers });
const vp0 = keysOf(0);
const vp1 = keysOf(1);
const huge = "A".repeat(4 * 1024 * 1024);

/** What the HTTP server hands the screen: the first bytes, and whether that is all. */
function screen(body: string) {
  const head = Buffer.from(body, "utf8").subarray(0, ENVELOPE_HEAD_BYTES).toString("utf8");
  return screenEnvelopeHead(vp1, "c1", head, Buffer.byteLength(body) <= ENVELOPE_HEAD_BYTES);
}

describe("the /peer/message screen", () => {
  it("lets through what a member sends, whatever its kind and body", () => {
    for (const body of [{ blocks: [] }, { tx: { uuid: "u" } }, null, "x".repeat(100_000)]) {
      const envelope = JSON.stringify(sealMessage(vp0, { cluster_id: "c1", from: "vp0", to: "vp1", kind: "blocks", body }));
      assert.equal(screen(envelope), null);
      assert.equal(openEnvelope(vp1, "c1", JSON.parse(envelope)).ok, true);
    }
  });

  it("refuses a sender that is no member as non_member, quoting at most a few hundred characters of it", () => {
    for (const from of ["vp9", huge, `vp0${"\\u0041".repeat(1000)}`]) {
      const refused = screen(JSON.stringify({ message: { cluster_id: "c1", from, to: "vp1", kind: "blocks", body: {} }, signature: "x" }));
      assert.equal(refused?.reason, "non_member", from.slice(0, 20));
      assert.ok(refused.error.length < 400, `${refused.error.length} characters`);
    }
  });

  it("refuses a message for another node or cluster as misdirected", () => {
    assert.equal(screen(JSON.stringify(sealMessage(vp0, { cluster_id: "c1", from: "vp0", to: "vp2", kind: "blocks", body: {} })))?.reason, "misdirected");
    assert.equal(screen(JSON.stringify(sealMessage(vp0, { cluster_id: "c2", from: "vp0", to: "vp1", kind: "blocks", body: {} })))?.reason, "misdirected");
    const refused = screen(JSON.stringify({ message: { cluster_id: "c1", from: "vp0", to: huge, kind: "blocks", body: {} }, signature: "x" }));
    assert.equal(refused?.reason, "misdirected");
    assert.ok(refused.error.length < 400);
  });

  it("refuses what is not an envelope, or one whose fields come in another order, as malformed", () => {
    for (const body of ["", "not json", "[]", huge, '{"signature":"x","message":{}}', '{"message":{"from":"vp0","cluster_id":"c1","to":"vp1"}}', '{"message":{"cluster_id":1}}']) {
      assert.equal(screen(body)?.reason, "malformed", body.slice(0, 40));
    }
  });
});

describe("the /peer/frame screen", () => {
  const isMember = (id: string) => peers.some((p) => p.id === id);
  const codec = new FrameCodec({ selfId: "vp0", pairKeys: derivePairKeys({ clusterId: "c1", selfId: "vp0", privateKeyPem: identities[0]!.keys.privateKey, peers }), epoch: 1 });

  it("lets through a member's frame to this node", () => {
    const frame = codec.seal("vp1", [{ type: "checkpoint", seq: 32, digest: "d" }]);
    assert.equal(screenFrameHead(frame.slice(0, 100), false, "vp1", isMember), null);
    assert.equal(screenFrameHead(frame, true, "vp1", isMember), null);
  });

  it("refuses a frame from a non-member, from itself, or for another node, quoting little of it", () => {
    assert.equal(screenFrameHead("vp9\nvp1\n1\n1\nmac\n[]", true, "vp1", isMember)?.reason, "non_member");
    assert.equal(screenFrameHead("vp1\nvp1\n1\n1\nmac\n[]", true, "vp1", isMember)?.reason, "non_member");
    assert.equal(screenFrameHead("vp0\nvp2\n1\n1\nmac\n[]", true, "vp1", isMember)?.reason, "misdirected");
    const longFrom = screenFrameHead(huge.slice(0, 2048), false, "vp1", isMember);
    assert.equal(longFrom?.reason, "non_member");
    assert.ok(longFrom.error.length < 400);
    const longTo = screenFrameHead(`vp0\n${huge.slice(0, 2040)}`, false, "vp1", isMember);
    assert.equal(longTo?.reason, "misdirected");
    assert.ok(longTo.error.length < 400);
  });

  it("refuses a whole body with fewer than two lines as malformed", () => {
    assert.equal(screenFrameHead("", true, "vp1", isMember)?.reason, "malformed");
    assert.equal(screenFrameHead("vp0", true, "vp1", isMember)?.reason, "malformed");
  });
});
