import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RPC_ERROR, parseChaincodeCall } from "../../src/chain/rest/json-rpc.ts";

function parse(body: unknown) {
  return parseChaincodeCall(typeof body === "string" ? body : JSON.stringify(body));
}

function errorOf(body: unknown) {
  const parsed = parse(body);
  assert.equal(parsed.ok, false);
  return (parsed as { error: { code: number; message: string } }).error;
}

const valid = {
  jsonrpc: "2.0",
  method: "invoke",
  params: { type: 1, chaincodeID: { name: "example02" }, ctorMsg: { function: "invoke", args: ["a", "b", "1"] } },
  id: 7,
};

describe("JSON-RPC chaincode requests", () => {
  it("reads Fabric 0.6's request with function and args", () => {
    assert.deepEqual(parse(valid), {
      ok: true,
      call: { id: 7, method: "invoke", chaincodeID: { name: "example02" }, function: "invoke", args: ["a", "b", "1"] },
    });
  });

  it("reads the later args-only ctorMsg, with the function as first arg", () => {
    const parsed = parse({ ...valid, params: { ...valid.params, ctorMsg: { args: ["invoke", "a", "b", "1"] } } });
    assert.ok(parsed.ok);
    assert.equal(parsed.call.function, "invoke");
    assert.deepEqual(parsed.call.args, ["a", "b", "1"]);
  });

  it("a deploy without ctorMsg calls init()", () => {
    const parsed = parse({ jsonrpc: "2.0", method: "deploy", params: { chaincodeID: { path: "x/map" } }, id: "d" });
    assert.ok(parsed.ok);
    assert.equal(parsed.call.function, "init");
    assert.deepEqual(parsed.call.args, []);
  });

  it("answers -32700 for a body that is not JSON", () => {
    assert.equal(errorOf("{nope").code, RPC_ERROR.parseError);
  });

  it("answers -32600 for what is not a JSON-RPC 2.0 request", () => {
    assert.equal(errorOf({ ...valid, jsonrpc: "1.0" }).code, RPC_ERROR.invalidRequest);
    assert.equal(errorOf([valid]).code, RPC_ERROR.invalidRequest);
    assert.equal(errorOf("42").code, RPC_ERROR.invalidRequest);
  });

  it("answers -32601 for a method other than deploy, invoke and query", () => {
    assert.equal(errorOf({ ...valid, method: "terminate" }).code, RPC_ERROR.methodNotFound);
  });

  it("answers -32602 with a message naming the bad field", () => {
    const cases: [unknown, RegExp][] = [
      [{ ...valid, params: undefined }, /params must be an object/],
      [{ ...valid, params: { ...valid.params, type: 3 } }, /params\.type must be 1 \(GOLANG: the built-in chaincodes\) or 2 \(NODE: JavaScript chaincode\)/],
      [{ ...valid, method: "deploy", params: { ...valid.params, type: 2 } }, /params\.codePackage must be the chaincode package in base64/],
      [{ ...valid, method: "deploy", params: { ...valid.params, codePackage: "eA==" } }, /params\.codePackage needs params\.type 2/],
      [{ ...valid, params: { ...valid.params, type: 2, codePackage: "eA==" } }, /params\.codePackage belongs to a deploy/],
      [{ ...valid, params: { ...valid.params, chaincodeID: undefined } }, /params\.chaincodeID/],
      [{ ...valid, params: { ...valid.params, chaincodeID: {} } }, /params\.chaincodeID needs a path or a name/],
      [{ ...valid, params: { ...valid.params, chaincodeID: { path: 3 } } }, /params\.chaincodeID\.path/],
      [{ ...valid, params: { ...valid.params, ctorMsg: undefined } }, /params\.ctorMsg/],
      [{ ...valid, params: { ...valid.params, ctorMsg: { function: "invoke", args: ["a", 1] } } }, /params\.ctorMsg\.args\[1\]/],
      [{ ...valid, params: { ...valid.params, ctorMsg: { args: [] } } }, /params\.ctorMsg\.function/],
    ];
    for (const [body, message] of cases) {
      const error = errorOf(body);
      assert.equal(error.code, RPC_ERROR.invalidParams);
      assert.match(error.message, message);
    }
  });

  it("echoes the request id in errors once it could be read", () => {
    const parsed = parse({ ...valid, method: "nope" });
    assert.equal(parsed.ok, false);
    assert.equal((parsed as { id: unknown }).id, 7);
  });
});
