/**
 * An in-process network of PBFT replicas on a virtual clock: every message goes through
 * the real frame codec (per-pair MACs, replay counters) and the network can drop, delay,
 * duplicate and reorder frames with seeded randomness, crash and restart replicas, and
 * let a replica lie. Each replica executes into a small hash-chained ledger, so tests
 * can compare ledgers block by block.
 */
import { createHash } from "node:crypto";
import { derivePairKeys } from "../../../src/chain/peer/pair-keys.ts";
import { FrameCodec } from "../../../src/chain/consensus/pbft/pbft-frames.ts";
import { PbftLog } from "../../../src/chain/consensus/pbft/pbft-log.ts";
import { batchDigest, requestKey } from "../../../src/chain/consensus/pbft/pbft-messages.ts";
import type { PbftBatch, PbftMessage, PbftRequest } from "../../../src/chain/consensus/pbft/pbft-messages.ts";
import { PbftReplica } from "../../../src/chain/consensus/pbft/pbft-replica.ts";
import type { BatchMode, ReplicaEnvironment, TransferTarget } from "../../../src/chain/consensus/pbft/pbft-replica.ts";
import { PeerKeys } from "../../../src/chain/peer/peer-keys.ts";
import { testIdentities } from "./fixtures.ts";

import { seededRandom } from "../../../src/lib/seeded-random.ts";

export { seededRandom };

export interface SimBlock {
  number: number;
  seq: number;
  proposer: string;
  timestamp: number;
  requests: string[];
  previous: string;
  hash: string;
}

export const GENESIS_HASH = "genesis";

/** The application: a ledger of blocks that records which requests ran, exactly once. */
export class SimLedger {
  readonly blocks: SimBlock[] = [];
  readonly executed = new Set<string>();
  /** A fault: the block with this number is made wrong once (as a node whose execution erred would). */
  corruptBlock: number | undefined;

  get head(): string {
    return this.blocks.at(-1)?.hash ?? GENESIS_HASH;
  }

  get lastSeq(): number {
    return this.blocks.at(-1)?.seq ?? 0;
  }

  execute(seq: number, batch: PbftBatch): void {
    const requests: string[] = [];
    for (const request of batch.requests) {
      const key = requestKey(request);
      if (this.executed.has(key) || requests.includes(key)) continue;
      requests.push(key);
    }
    if (requests.length === 0) return;
    const number = this.blocks.length + 1;
    const corrupt = number === this.corruptBlock;
    if (corrupt) this.corruptBlock = undefined;
    this.append({ number, seq, proposer: batch.proposer, timestamp: batch.timestamp + (corrupt ? 1 : 0), requests, previous: this.head });
  }

  /** Keeps the first `count` blocks (a rollback to the last block shared with the quorum). */
  truncate(count: number): void {
    this.blocks.length = count;
    this.executed.clear();
    for (const block of this.blocks) for (const key of block.requests) this.executed.add(key);
  }

  append(block: Omit<SimBlock, "hash">): void {
    const hash = blockHash(block);
    this.blocks.push({ ...block, hash });
    for (const key of block.requests) this.executed.add(key);
  }

  /** The digest after `seq`: the hash of the last block at or below it. */
  digestAt(seq: number): string {
    let digest = GENESIS_HASH;
    for (const block of this.blocks) if (block.seq <= seq) digest = block.hash;
    return digest;
  }
}

export function blockHash(block: Omit<SimBlock, "hash">): string {
  return createHash("sha256").update(JSON.stringify([block.number, block.seq, block.proposer, block.timestamp, block.requests, block.previous])).digest("hex");
}

/**
 * equivocate: two pre-prepares to everyone; split: another one to the first backup only;
 * three_way: a different one to each backup.
 */
export type Lie = "equivocate" | "split" | "three_way" | "wrong_digest" | "outside_watermarks";

export interface SimOptions {
  size?: number;
  seed?: number;
  mode?: BatchMode;
  batchSize?: number;
  batchTimeoutMs?: number;
  checkpointInterval?: number;
  watermarkWindow?: number;
  /** Delay of each frame, uniform in [min, max] ms (so frames reorder). */
  minDelayMs?: number;
  maxDelayMs?: number;
  dropRate?: number;
  duplicateRate?: number;
}

interface Event {
  at: number;
  order: number;
  run: () => void;
}

export interface SimNode {
  id: string;
  ledger: SimLedger;
  replica: PbftReplica;
  codec: FrameCodec;
  crashed: boolean;
  lie: Lie | undefined;
  rejectedFrames: Record<string, number>;
  nextRequest: number;
}

export class SimNetwork {
  now = 0;
  readonly ids: string[];
  readonly nodes = new Map<string, SimNode>();
  readonly random: () => number;
  readonly options: Required<SimOptions>;
  /** Every frame put on the wire, for replay tests. */
  readonly wire: { from: string; to: string; frame: string }[] = [];
  readonly logs: { node: string; event: string; fields: Record<string, unknown> }[] = [];
  /** seq -> digest -> nodes that executed it: conflicting commits would show here. */
  readonly executions = new Map<number, Map<string, Set<string>>>();
  readonly #events: Event[] = [];
  #order = 0;
  readonly #pairKeys: Map<string, Map<string, Buffer>>;
  readonly #signers: Map<string, PeerKeys>;
  #epoch = 1;
  readonly #persisted = new Map<string, PbftLog>();

  constructor(options: SimOptions = {}) {
    this.options = {
      size: 4,
      seed: 1,
      mode: "classic",
      batchSize: 10,
      batchTimeoutMs: 50,
      checkpointInterval: 5,
      watermarkWindow: 20,
      minDelayMs: 1,
      maxDelayMs: 10,
      dropRate: 0,
      duplicateRate: 0,
      ...options,
    };
    this.random = seededRandom(this.options.seed);
    const identities = testIdentities(this.options.size);
    this.ids = identities.map((i) => i.peer.id);
    const peers = identities.map((i) => i.peer);
    this.#pairKeys = new Map(identities.map((i) => [i.peer.id, derivePairKeys({ clusterId: "sim", selfId: i.peer.id, privateKeyPem: i.keys.privateKey, peers })]));
    this.#signers = new Map(identities.map((i) => [i.peer.id, new PeerKeys({ selfId: i.peer.id, privateKeyPem: i.keys.privateKey, peers })]));
    for (const id of this.ids) this.#boot(id, new SimLedger());
  }

  node(id: string): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** Builds a replica from what its ledger holds (a fresh one, or after a restart). */
  #boot(id: string, ledger: SimLedger): void {
    const previous = this.nodes.get(id);
    const codec = new FrameCodec({ selfId: id, pairKeys: this.#pairKeys.get(id)!, epoch: this.#epoch++ });
    const signer = this.#signers.get(id)!;
    const K = this.options.checkpointInterval;
    const executed = ledger.lastSeq;
    // What survives a restart besides the ledger (lost with it on a wipe).
    const persisted = ledger === previous?.ledger ? (this.#persisted.get(id) ?? new PbftLog()) : new PbftLog();
    this.#persisted.set(id, persisted);
    const stableSeq = Math.floor(executed / K) * K;
    const node: SimNode = {
      id,
      ledger,
      codec,
      crashed: false,
      lie: previous?.lie,
      rejectedFrames: previous?.rejectedFrames ?? {},
      nextRequest: previous?.nextRequest ?? 1,
      replica: undefined as unknown as PbftReplica,
    };
    const env: ReplicaEnvironment = {
      send: (to, message) => this.#send(node, to, message),
      execute: (seq, digest, batch) => {
        node.ledger.execute(seq, batch);
        let byDigest = this.executions.get(seq);
        if (!byDigest) this.executions.set(seq, (byDigest = new Map()));
        let nodes = byDigest.get(digest);
        if (!nodes) byDigest.set(digest, (nodes = new Set()));
        nodes.add(id);
      },
      isExecuted: (request) => node.ledger.executed.has(requestKey(request)),
      stateDigest: () => node.ledger.head,
      verifyRequest: (request) => codec.verifyRequest(request),
      sign: (text) => signer.sign(text),
      verify: (replica, text, signature) => signer.verify(replica, text, signature),
      startTransfer: (target) => this.#at(this.now + 5, () => this.#transfer(node, target)),
      log: (event, fields) => this.logs.push({ node: id, event, fields }),
      persist: (record) => {
        persisted.apply(record);
      },
    };
    node.replica = new PbftReplica(
      {
        id,
        members: this.ids,
        checkpointInterval: K,
        watermarkWindow: this.options.watermarkWindow,
        mode: this.options.mode,
        batchSize: this.options.batchSize,
        batchTimeoutMs: this.options.batchTimeoutMs,
        maxBatchesInProgress: 2,
        requestTimeoutMs: 300,
        viewChangeTimeoutMs: 400,
        statusIntervalMs: 100,
        executed,
        stable: { seq: stableSeq, digest: ledger.digestAt(stableSeq) },
        recovered: persisted.recovered(),
        now: this.now,
      },
      env,
    );
    this.nodes.set(id, node);
    node.replica.start();
  }

  crash(id: string): void {
    this.node(id).crashed = true;
  }

  /** Restarts a crashed replica with the ledger it had (or an empty one). */
  restart(id: string, options: { wipe?: boolean } = {}): void {
    const ledger = options.wipe ? new SimLedger() : this.node(id).ledger;
    this.#boot(id, ledger);
  }

  /** A client of `via` sends a request; answers its key. */
  submit(via: string, operation: unknown = { op: "put" }): string {
    const node = this.node(via);
    const request = node.codec.authenticate({ client: via, number: node.nextRequest++, operation });
    node.replica.submit(request, this.now);
    return requestKey(request);
  }

  /** Delivers a raw frame to `to` as if it came off the wire. */
  inject(to: string, frame: string): void {
    this.#deliver(this.node(to), frame);
  }

  run(durationMs: number): void {
    const until = this.now + durationMs;
    let nextTick = Math.ceil(this.now / 10) * 10;
    for (;;) {
      const event = this.#events[0];
      const nextEventAt = event?.at ?? Number.POSITIVE_INFINITY;
      if (Math.min(nextEventAt, nextTick) > until) break;
      if (nextTick <= nextEventAt) {
        this.now = nextTick;
        for (const node of this.nodes.values()) if (!node.crashed) node.replica.tick(this.now);
        nextTick += 10;
        continue;
      }
      this.#pop();
      this.now = event!.at;
      event!.run();
    }
    this.now = until;
  }

  /** Runs until `done` holds, failing after `limitMs` of virtual time. */
  runUntil(what: string, done: () => boolean, limitMs = 20_000): void {
    const deadline = this.now + limitMs;
    while (!done()) {
      if (this.now >= deadline) throw new Error(`not reached within ${limitMs} ms of virtual time: ${what}`);
      this.run(20);
    }
  }

  live(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !n.crashed && n.lie === undefined);
  }

  executedEverywhere(keys: readonly string[], nodes: readonly SimNode[] = this.live()): boolean {
    return nodes.every((n) => keys.every((k) => n.ledger.executed.has(k)));
  }

  #send(node: SimNode, to: string, message: PbftMessage): void {
    if (node.crashed) return;
    for (const variant of this.#lie(node, message, to)) {
      const frame = node.codec.seal(to, [variant]);
      this.wire.push({ from: node.id, to, frame });
      if (this.random() < this.options.dropRate) continue;
      const copies = this.random() < this.options.duplicateRate ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        const { minDelayMs, maxDelayMs } = this.options;
        this.#at(this.now + minDelayMs + this.random() * (maxDelayMs - minDelayMs), () => this.#deliver(this.node(to), frame));
      }
    }
  }

  /** What a lying primary sends instead of its honest pre-prepares. */
  #lie(node: SimNode, message: PbftMessage, to: string): PbftMessage[] {
    if (node.lie === undefined || message.type !== "preprepare") return [message];
    switch (node.lie) {
      case "split": {
        if (to !== this.ids.find((id) => id !== node.id)) return [message];
        const other: PbftBatch = { ...message.batch, timestamp: message.batch.timestamp + 1 };
        return [{ ...message, batch: other, digest: batchDigest(other) }];
      }
      case "equivocate": {
        const other: PbftBatch = { ...message.batch, timestamp: message.batch.timestamp + 1 };
        return [message, { ...message, batch: other, digest: batchDigest(other) }];
      }
      case "three_way": {
        const other: PbftBatch = { ...message.batch, timestamp: message.batch.timestamp + 1 + this.ids.indexOf(to) };
        return [{ ...message, batch: other, digest: batchDigest(other) }];
      }
      case "wrong_digest":
        return [{ ...message, digest: "0".repeat(64) }];
      case "outside_watermarks":
        return [{ ...message, seq: message.seq + 10_000 }];
    }
  }

  #deliver(node: SimNode, frame: string): void {
    if (node.crashed) return;
    const opened = node.codec.open(frame);
    if (!opened.ok) {
      node.rejectedFrames[opened.reason] = (node.rejectedFrames[opened.reason] ?? 0) + 1;
      return;
    }
    if (opened.malformed > 0) node.rejectedFrames["malformed_message"] = (node.rejectedFrames["malformed_message"] ?? 0) + opened.malformed;
    if (this.node(opened.from).crashed) return;
    for (const message of opened.messages) node.replica.receive(opened.from, message, this.now);
  }

  /**
   * State transfer: copy blocks from a source that holds the target, from the last block
   * both ledgers share (rolling this one back past any it does not), checking the hash
   * chain first.
   */
  #transfer(node: SimNode, target: TransferTarget): void {
    if (node.crashed) return;
    for (const sourceId of target.sources) {
      const source = this.node(sourceId);
      if (source.crashed) continue;
      const end = source.ledger.blocks.findIndex((b) => b.hash === target.digest);
      if (end < 0 && target.digest !== GENESIS_HASH) continue;
      let shared = 0;
      while (shared < Math.min(node.ledger.blocks.length, end + 1) && node.ledger.blocks[shared]!.hash === source.ledger.blocks[shared]!.hash) shared++;
      const wanted = source.ledger.blocks.slice(shared, end + 1);
      let previous = shared === 0 ? GENESIS_HASH : node.ledger.blocks[shared - 1]!.hash;
      let valid = true;
      for (const block of wanted) {
        if (block.previous !== previous || blockHash(block) !== block.hash) valid = false;
        previous = block.hash;
      }
      if (!valid || previous !== target.digest) continue;
      const forked = shared < node.ledger.blocks.length;
      if (forked) node.ledger.truncate(shared);
      for (const block of wanted) node.ledger.append(block);
      node.replica.transferDone(target.seq, target.digest, this.now, forked);
      return;
    }
    node.replica.transferFailed();
  }

  #at(at: number, run: () => void): void {
    const event = { at, order: this.#order++, run };
    const heap = this.#events;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#events;
    const last = heap.pop();
    if (heap.length === 0 || !last) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

export type { PbftRequest };
