import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { PortLeaser } from "../../src/drivers/contract.ts";
import { NodePorts } from "../../src/drivers/node-ports.ts";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { PoolStore } from "../../src/store/pool-store.ts";

describe("NodePorts: every node's published port, leased from the real port ledger", () => {
  let dir: string;
  let store: PoolStore;
  let leaser: PortLeaser;
  const range = { min: 20000, max: 20009 };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "chainpool-nodeports-"));
    store = new PoolStore({ db: openBetterSqlite3(join(dir, "pool.db")) });
    leaser = {
      lease: (clusterId, count) => store.leasePorts("machine", clusterId, count, range)!,
      block: (port, why) => store.blockPort("machine", port, why),
    };
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const nodes = ["vp0", "vp1", "vp2", "vp3"];

  it("gives each node its own port, and a resumed creation the same ones", () => {
    const ports = new NodePorts({ leaser, clusterId: "A", nodes });
    assert.deepEqual(ports.toRecord(), { vp0: 20000, vp1: 20001, vp2: 20002, vp3: 20003 });
    assert.deepEqual(new NodePorts({ leaser, clusterId: "A", nodes }).toRecord(), ports.toRecord());
    assert.deepEqual(new NodePorts({ leaser, clusterId: "B", nodes }).toRecord(), { vp0: 20004, vp1: 20005, vp2: 20006, vp3: 20007 });
  });

  it("moves only the node whose port is taken; the port is blocked, the others keep theirs", () => {
    const ports = new NodePorts({ leaser, clusterId: "A", nodes });
    new NodePorts({ leaser, clusterId: "B", nodes: ["vp0"] }); // 20004 goes to another cluster
    assert.equal(ports.move("vp1", "address already in use"), 20005);
    assert.deepEqual(ports.toRecord(), { vp0: 20000, vp1: 20005, vp2: 20002, vp3: 20003 });
    assert.deepEqual(store.leasePorts("machine", "A", 4, range), [20000, 20002, 20003, 20005], "the ledger holds exactly the ports in use");
    assert.deepEqual(new NodePorts({ leaser, clusterId: "C", nodes: ["vp0", "vp1"] }).toRecord(), { vp0: 20006, vp1: 20007 }, "20001 is blocked, not free");
  });

  it("two nodes moving one after the other never share a fresh port", () => {
    const ports = new NodePorts({ leaser, clusterId: "A", nodes });
    const a = ports.move("vp3", "taken");
    const b = ports.move("vp0", "taken");
    assert.notEqual(a, b);
    assert.equal(new Set(Object.values(ports.toRecord())).size, 4);
    assert.deepEqual(ports.toRecord(), { vp0: 20005, vp1: 20001, vp2: 20002, vp3: 20004 });
  });

  it("moving a node that was moved before moves it again", () => {
    const ports = new NodePorts({ leaser, clusterId: "A", nodes });
    ports.move("vp2", "taken");
    ports.move("vp2", "taken again");
    assert.deepEqual(ports.toRecord(), { vp0: 20000, vp1: 20001, vp2: 20005, vp3: 20003 });
  });
});
