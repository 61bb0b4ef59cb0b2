import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { usage } from "../../src/cli/run.ts";
import { EXIT } from "../../src/cli/exit-codes.ts";
import { ROOT } from "../chain/helpers/chain-cluster.ts";

describe("CLI exit codes", () => {
  it("are distinct, and the README's table lists exactly them", () => {
    const codes = Object.values(EXIT);
    assert.equal(new Set(codes).size, codes.length);
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("Exit codes:"));
    const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    assert.deepEqual(documented, [...codes].sort((a, b) => a - b));
  });

  it("--help names every code", () => {
    const help = usage();
    for (const code of Object.values(EXIT)) assert.match(help, new RegExp(`\\b${code} [a-z-]`));
  });
});
