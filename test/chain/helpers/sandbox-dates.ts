/**
 * Prints what Date answers inside a sandbox, as JSON: run by js-chaincode.test.ts in child
 * processes with different TZ settings, whose answers must be the same.
 */
import { Buffer } from "node:buffer";
import { JsEngine } from "../../../src/chain/chaincode/js/engine.ts";
import { parseCodePackage } from "../../../src/chain/chaincode/js/package.ts";
import { JsSandbox } from "../../../src/chain/chaincode/js/sandbox.ts";

const source = `const shim = require('fabric-shim');
shim.start({ async Invoke() {
  const d = new Date(2020, 0, 2, 3, 4, 5);
  return shim.success(JSON.stringify([Date.parse("2020-01-01T00:00:00"), Date.parse("2020-01-01"), Date.parse("Wed, 01 Jan 2020 10:00:00"),
    d.getTime(), d.getHours(), d.toString(), new Date(0).getDate(), new Date().getTimezoneOffset(), String(new Date(86400000))]));
} });`;
const engine = new JsEngine();
const module = await engine.load();
const pkg = parseCodePackage(Buffer.from(source).toString("base64"), 1 << 20);
if (!pkg.ok) throw new Error(pkg.error);
const created = JsSandbox.create(module, pkg.pkg, engine.stackTop);
if (!created.ok) throw new Error(created.error);
const outcome = created.sandbox.run(
  { txId: "t", millis: 1_700_000_000_000, seconds: 1_700_000_000, nanos: 0, fn: "x", args: [], mode: "invoke", seed: "00000000000000000000000000000001" },
  { call: () => undefined, ticks: () => 0 },
);
process.stdout.write(JSON.stringify(outcome));
