import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PeerKeys } from "../../src/chain/peer/peer-keys.ts";
import { signPeerGet, verifyPeerGet } from "../../src/chain/peer/peer-get-auth.ts";
import { createUrlSecretGate } from "../../src/chain/rest/url-secret-gate.ts";
import { parseUrlSecret } from "../../src/chain/node-config-validation.ts";
import { newUrlSecret, URL_SECRET_PATTERN, withUrlSecret } from "../../src/lib/url-secret.ts";
import { testIdentities } from "./helpers/fixtures.ts";

describe("URL secrets", () => {
  it("a fresh secret is 192 random bits as 32 URL-safe characters, never the same twice", () => {
    const secrets = new Set(Array.from({ length: 1000 }, () => newUrlSecret()));
    assert.equal(secrets.size, 1000);
    for (const secret of secrets) {
      assert.match(secret, URL_SECRET_PATTERN);
      assert.equal(Buffer.from(secret, "base64url").length, 24);
    }
  });

  it("withUrlSecret makes the secret the first path segment; no secret or no URL leaves it as it is", () => {
    assert.equal(withUrlSecret("http://h:7050", "s3cr3t"), "http://h:7050/s3cr3t");
    assert.equal(withUrlSecret("http://h:7050", ""), "http://h:7050");
    assert.equal(withUrlSecret("", "s3cr3t"), "");
  });

  it("the secret file's text: one line of the secret's alphabet, at least 128 bits; the error never quotes it", () => {
    const secret = newUrlSecret();
    assert.deepEqual(parseUrlSecret(`${secret}\n`), { ok: true, secret });
    assert.deepEqual(parseUrlSecret(secret), { ok: true, secret });
    for (const bad of ["", "\n", "short", `${secret} `, `${secret}\n\n`, `${secret.slice(0, 10)}/${secret.slice(11)}`, "a".repeat(21)]) {
      const parsed = parseUrlSecret(bad);
      assert.equal(parsed.ok, false, JSON.stringify(bad));
      if (!parsed.ok && bad.length > 4) assert.ok(!parsed.error.includes(bad.trim()), "the text is not quoted");
    }
  });
});

describe("the node's URL secret gate", () => {
  const secret = newUrlSecret();
  const gate = createUrlSecretGate(secret);

  it("opens client routes under the secret, with the prefix taken off", () => {
    assert.deepEqual(gate.route(`/${secret}/chain`), { kind: "client", path: "/chain" });
    assert.deepEqual(gate.route(`/${secret}/chain/blocks/3`), { kind: "client", path: "/chain/blocks/3" });
    assert.deepEqual(gate.route(`/${secret}`), { kind: "client", path: "/" });
  });

  it("hides every client route without the secret, with another one, or with a near miss", () => {
    const other = newUrlSecret();
    for (const path of ["/chain", "/chaincode", "/status", "/", `/${other}/chain`, `/${secret.slice(0, -1)}/chain`, `/${secret}x/chain`, `/x${secret}/chain`, `//${secret}/chain`, `/${secret.toUpperCase()}/chain`]) {
      assert.deepEqual(gate.route(path), { kind: "hidden" }, path);
    }
  });

  it("leaves node-to-node routes at the root, outside the secret, and not under it", () => {
    assert.deepEqual(gate.route("/peer/frame"), { kind: "peer", path: "/peer/frame" });
    assert.deepEqual(gate.route(`/${secret}/peer/frame`), { kind: "hidden" });
  });

  it("without a secret everything is served at the root, as before", () => {
    const open = createUrlSecretGate(undefined);
    assert.equal(open.enabled, false);
    assert.deepEqual(open.route("/chain"), { kind: "client", path: "/chain" });
    assert.deepEqual(open.route("/peer/ping"), { kind: "peer", path: "/peer/ping" });
    assert.equal(open.redact("/chain"), "/chain");
  });

  it("redacts the secret, or a guess at it, from paths for logs; known routes stay readable", () => {
    assert.equal(gate.redact(`/${secret}/chain/blocks/3`), "/{secret}/chain/blocks/3");
    assert.equal(gate.redact(`/${secret}`), "/{secret}");
    assert.equal(gate.redact(`/${secret.slice(0, -1)}/chain`), "/{secret}/chain");
    assert.equal(gate.redact("/chain/blocks/3"), "/chain/blocks/3");
    assert.equal(gate.redact("/peer/frame"), "/peer/frame");
    assert.equal(gate.redact("/"), "/");
  });
});

describe("signed node-to-node GETs", () => {
  const identities = testIdentities(3);
  const peers = identities.slice(0, 2).map((i) => i.peer);
  const vp0 = new PeerKeys({ selfId: "vp0", privateKeyPem: identities[0]!.keys.privateKey, peers });
  const vp1 = new PeerKeys({ selfId: "vp1", privateKeyPem: identities[1]!.keys.privateKey, peers });
  const now = 1_700_000_000_000;
  const ask = (options: { keys?: PeerKeys; to?: string; clusterId?: string; at?: number } = {}) =>
    signPeerGet({ keys: options.keys ?? vp0, clusterId: options.clusterId ?? "c1", to: options.to ?? "vp1", path: "/peer/blocks", params: { from: "5" }, now: options.at ?? now });
  const check = (pathAndQuery: string, at = now) => {
    const url = new URL(pathAndQuery, "http://node");
    return verifyPeerGet({ keys: vp1, clusterId: "c1", path: url.pathname, query: url.searchParams, now: at });
  };

  it("a member's signed GET verifies at the node it asked, within five minutes either way", () => {
    const signed = ask();
    assert.match(signed, /^\/peer\/blocks\?from=5&peer_from=vp0&peer_ts=\d+&peer_sig=/);
    assert.equal(check(signed), true);
    assert.equal(check(signed, now + 299_000), true);
    assert.equal(check(signed, now - 299_000), true);
  });

  it("is refused unsigned, stale, changed, for another node or cluster, or from a non-member", () => {
    assert.equal(check("/peer/blocks?from=5"), false);
    assert.equal(check(ask(), now + 301_000), false, "stale");
    assert.equal(check(ask().replace("from=5", "from=0")), false, "another page than the one signed");
    assert.equal(check(ask().replace("peer_from=vp0", "peer_from=vp1")), false, "another asker");
    assert.equal(check(ask({ to: "vp0" })), false, "signed for another node");
    assert.equal(check(ask({ clusterId: "c2" })), false, "signed for another cluster");
    const outsider = new PeerKeys({ selfId: "vp0", privateKeyPem: identities[2]!.keys.privateKey, peers: [{ ...identities[2]!.peer, id: "vp0" }] });
    assert.equal(check(ask({ keys: outsider })), false, "a key that is not vp0's");
    assert.equal(check(ask().replace(/peer_ts=\d+/, "peer_ts=abc")), false);
  });
});
