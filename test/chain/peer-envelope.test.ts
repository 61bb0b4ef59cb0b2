import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openEnvelope, sealMessage } from "../../src/chain/peer/peer-envelope.ts";
import { PeerKeys } from "../../src/chain/peer/peer-keys.ts";
import { testIdentities } from "./helpers/fixtures.ts";

const identities = testIdentities(2);
const peers = identities.map((i) => i.peer);
const vp0 = new PeerKeys({ selfId: "vp0", privateKeyPem: identities[0]!.keys.privateKey, peers });
const vp1 = new PeerKeys({ selfId: "vp1", privateKeyPem: identities[1]!.keys.privateKey, peers });
const message = { cluster_id: "c1", from: "vp0", to: "vp1", kind: "blocks", body: { blocks: [] } };

describe("peer envelopes", () => {
  it("a member's signed message opens at its addressee", () => {
    assert.deepEqual(openEnvelope(vp1, "c1", sealMessage(vp0, message)), { ok: true, message });
  });

  it("a changed body breaks the signature", () => {
    const envelope = sealMessage(vp0, message);
    envelope.message.body = { blocks: [1] };
    assert.equal((openEnvelope(vp1, "c1", envelope) as { reason: string }).reason, "bad_signature");
  });

  it("a message signed with another key than the sender's is refused as bad_signature", () => {
    const impostorIdentity = testIdentities(1)[0]!;
    const impostor = new PeerKeys({ selfId: "vp0", privateKeyPem: impostorIdentity.keys.privateKey, peers: [{ ...impostorIdentity.peer, id: "vp0" }] });
    assert.equal((openEnvelope(vp1, "c1", sealMessage(impostor, message)) as { reason: string }).reason, "bad_signature");
  });

  it("a sender outside the cluster is refused as non_member", () => {
    const outsider = testIdentities(1)[0]!;
    const keys = new PeerKeys({ selfId: "mallory", privateKeyPem: outsider.keys.privateKey, peers: [{ ...outsider.peer, id: "mallory" }] });
    const opened = openEnvelope(vp1, "c1", sealMessage(keys, { ...message, from: "mallory" }));
    assert.equal((opened as { reason: string }).reason, "non_member");
  });

  it("a message for another node or cluster is refused as misdirected", () => {
    assert.equal((openEnvelope(vp1, "c2", sealMessage(vp0, { ...message, cluster_id: "c2", to: "vp0" })) as { reason: string }).reason, "misdirected");
    assert.equal((openEnvelope(vp1, "c1", sealMessage(vp0, { ...message, cluster_id: "c2" })) as { reason: string }).reason, "misdirected");
  });

  it("anything else is malformed", () => {
    for (const input of [null, "x", {}, { message: {}, signature: "" }, { message: { ...message, kind: 1 }, signature: "" }]) {
      assert.equal((openEnvelope(vp1, "c1", input) as { reason: string }).reason, "malformed");
    }
  });
});
