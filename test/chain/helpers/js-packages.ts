/** The JavaScript chaincode fixtures (test/chain/fixtures/js-chaincode) as deploys carry them: base64 codePackage. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../fixtures/js-chaincode/", import.meta.url));

/** One JavaScript file of the fixtures, base64. */
export function fileCodePackage(name: string): string {
  return readFileSync(join(FIXTURES, name)).toString("base64");
}

/** A fixture directory as a gzip'd tar made by the system's tar (entries under "./"), base64. */
export function tarCodePackage(dir: string): string {
  return execFileSync("tar", ["czf", "-", "-C", join(FIXTURES, dir), "."]).toString("base64");
}

export function textCodePackage(source: string): string {
  return Buffer.from(source, "utf8").toString("base64");
}
