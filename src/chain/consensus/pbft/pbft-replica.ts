/**
 * One PBFT replica as a deterministic state machine (Castro and Liskov, TOCS 2002).
 * Inputs are client requests (`submit`), authenticated messages from other replicas
 * (`receive`), clock ticks (`tick`) and the end of a state transfer; outputs go through
 * the injected environment: messages to send, batches to execute, transfers to start.
 * It does no I/O and reads no clock of its own, so it runs the same in a node process
 * and on a simulated network in tests.
 *
 * Normal case: the primary of view v (members[v mod N]) assigns sequence numbers within
 * the watermarks (h, h+L] and multicasts pre-prepares; backups that accept one multicast
 * a prepare; a replica with the pre-prepare and quorum-1 matching prepares is
 * "prepared" and multicasts a commit; quorum matching commits make it "committed" and
 * batches execute in sequence order. Quorum is ceil((N+f+1)/2) (2f+1 when N = 3f+1).
 * Every K sequence numbers a replica multicasts a checkpoint of its state digest; quorum
 * matching checkpoints make it stable: the log below it is dropped and h moves up.
 *
 * View change: when requests it knows of do not execute in time, or the primary is seen
 * lying (two pre-prepares for one number, a digest that is not the batch's, a number far
 * outside the watermarks, a forged request), a replica signs and multicasts a
 * view-change for v+1 with its checkpoints and its P (prepared) and Q (pre-prepared)
 * sets. The new primary gathers a quorum of them and multicasts a new-view that carries
 * them; every replica recomputes from them the starting checkpoint and the batch (or
 * null request) for each number above it with the TOCS selection rules, so a lying new
 * primary is caught. f+1 view-changes for higher views make a replica join the smallest.
 *
 * State transfer: a replica that sees a quorum of checkpoints, or f+1 matching statuses
 * (executed number and state digest), ahead of what it has executed, and is not moving
 * on its own, asks the environment to fetch the state up to that digest from those peers.
 * Replicas exchange statuses every status interval, and at once on start, which is also
 * how a restarted replica learns the current view.
 *
 * Divergence: a quorum checkpoint whose digest is not this replica's own for that number
 * means its state is not the agreed one (a fault in its execution, a ledger changed under
 * it). Fabric 0.6 panicked; this replica counts it, stops executing, and asks the
 * environment for a transfer marked `diverged`: back to the last block it shares with the
 * quorum, then forward to the quorum's digest. Then it executes again from there.
 */
import { batchDigest, requestKey, viewChangeText } from "./pbft-messages.ts";
import { encodedBytes } from "../../size-limits.ts";
import type {
  CertEntry,
  Checkpoint,
  NewViewEntry,
  PbftBatch,
  PbftMessage,
  PbftRequest,
  PreparedEntry,
  SignedViewChange,
  ViewChange,
} from "./pbft-messages.ts";

/** What the replica needs from where it runs. */
export interface ReplicaEnvironment {
  send(to: string, message: PbftMessage): void;
  /** Executes a committed batch (digest never empty); skips requests already executed. */
  execute(seq: number, digest: string, batch: PbftBatch): void;
  /** Whether this request was executed before (exactly-once). */
  isExecuted(request: PbftRequest): boolean;
  /** Digest of the application state after the last executed batch. */
  stateDigest(): string;
  /** Whether the request's authenticator entry for this replica is its client's. */
  verifyRequest(request: PbftRequest): boolean;
  /** Signs and checks view-change messages. */
  sign(text: string): string;
  verify(replica: string, text: string, signature: string): boolean;
  /**
   * Fetches the state up to `target` from `sources` (replicas that vouched for it);
   * calls `transferDone` or `transferFailed` on the replica when over.
   */
  startTransfer(target: TransferTarget): void;
  log(event: string, fields: Record<string, unknown>): void;
  /**
   * Keeps what this replica must not forget across a restart: what it prepared (P) and
   * pre-prepared (Q) above its stable checkpoint, which its view-changes vouch for. A
   * replica that forgot them could let a new view drop a committed batch.
   */
  persist(record: PersistRecord): void;
}

export type PersistRecord =
  | { type: "prepared"; entry: PreparedEntry }
  | { type: "preprepared"; entry: CertEntry }
  | { type: "stable"; seq: number };

export interface TransferTarget {
  seq: number;
  digest: string;
  sources: string[];
  /**
   * This replica's own state at `seq` is not the quorum's: the transfer must first find
   * the last block it shares with the sources, roll the ledger back to it, and fetch the
   * rest from there (not only what lies beyond its head).
   */
  diverged?: true;
}

/** A quorum checkpoint (or a vouched-for state) that this replica's own state did not match. */
export interface Divergence {
  seq: number;
  /** This replica's digest there (empty when it found the fork by state transfer, not at a checkpoint). */
  own: string;
  quorum: string;
}

export type BatchMode = "classic" | "batch" | "";

export interface ReplicaOptions {
  id: string;
  /** Every replica in order; the primary of view v is members[v mod N]. */
  members: readonly string[];
  /** K: a checkpoint every K sequence numbers. */
  checkpointInterval: number;
  /** L: how far above the low watermark the primary may assign numbers (a multiple of K). */
  watermarkWindow: number;
  /** classic: one request per number; batch: up to batchSize, or fewer after batchTimeoutMs; "": what is pending at once. */
  mode: BatchMode;
  batchSize: number;
  batchTimeoutMs: number;
  /**
   * batch and "" modes: most batches in progress (assigned, not yet executed) at once. While
   * that many are on their way, requests wait and the next batch grows (as in Castro's BFT
   * library), so under load the protocol cost is shared by many requests. Classic mode
   * pipelines up to the high watermark.
   */
  maxBatchesInProgress: number;
  /**
   * Most bytes of requests (JSON) in one batch; a batch always takes at least one. Keeps a
   * pre-prepare within what one replica accepts from another. Unbounded when absent.
   */
  maxBatchBytes?: number;
  /** How long a known request may wait for execution before this replica moves to change the view. */
  requestTimeoutMs: number;
  /** How long to wait for a new-view once a quorum asked for it (doubles each time it fails). */
  viewChangeTimeoutMs: number;
  statusIntervalMs: number;
  /** What this replica has executed already (from its ledger). */
  executed: number;
  stable: Checkpoint;
  /** What `persist` kept before a restart (entries at or below `stable` are ignored). */
  recovered?: { prepared: PreparedEntry[]; prePrepared: CertEntry[] };
  now: number;
}

export type SubmitResult = "accepted" | "duplicate" | "full";

/** Protocol-level rejections, counted in status. */
export const PROTOCOL_REJECTIONS = ["bad_request", "bad_view_change", "bad_new_view", "not_primary", "stale", "conflict"] as const;
export type ProtocolRejection = (typeof PROTOCOL_REJECTIONS)[number];

export interface ReplicaStatus {
  view: number;
  primary: string;
  active: boolean;
  last_committed: number;
  last_stable_checkpoint: number;
  low_watermark: number;
  high_watermark: number;
  pending: number;
  outstanding: number;
  view_changes: number;
  state_transfers: number;
  transferring: boolean;
  /** Times this replica found its state diverged from the quorum's (and recovered, or is recovering). */
  divergences: number;
  last_divergence: Divergence | null;
  /** True from a divergence until the state transfer that recovers from it ends: client reads are refused meanwhile. */
  diverged: boolean;
  rejected: Record<ProtocolRejection, number>;
}

/** Most requests a primary queues; beyond it new ones are turned away. */
const MAX_PENDING = 20_000;

interface Slot {
  /** The pre-prepare accepted for this number, in `view`. */
  prePrepare?: { view: number; digest: string; batch: PbftBatch | null };
  /** `${view}|${digest}` -> replicas that sent a prepare (this one included, the primary never). */
  prepares: Map<string, Set<string>>;
  commits: Map<string, Set<string>>;
  /** Keys for which this replica multicast its commit. */
  commitSent: Set<string>;
  /** Highest view this number prepared in (the P set). */
  prepared?: { view: number; digest: string; batch: PbftBatch | null };
  /** digest -> highest view it was pre-prepared in here (the Q set). */
  prePrepared: Map<string, number>;
  committed?: { digest: string; batch: PbftBatch | null };
}

interface Outstanding {
  request: PbftRequest;
  /** Taken from a client of this node (forwarded by this node), not relayed by another. */
  local: boolean;
  /** Already multicast to every replica after a timeout. */
  broadcast: boolean;
}

interface PeerStatus {
  view: number;
  active: boolean;
  executed: number;
  digest: string;
  maxSeq: number;
}

export class PbftReplica {
  readonly id: string;
  readonly members: readonly string[];
  readonly f: number;
  readonly quorum: number;
  readonly #options: ReplicaOptions;
  readonly #env: ReplicaEnvironment;

  #view = 0;
  #active = false;
  /** The time of the input being handled. */
  #clock: number;
  #lastExecuted: number;
  #stable: Checkpoint;
  readonly #ownCheckpoints = new Map<number, string>();
  readonly #checkpointVotes = new Map<number, Map<string, string>>();
  readonly #slots = new Map<number, Slot>();

  // primary
  #nextSeq: number;
  readonly #pending: { request: PbftRequest; arrivedAt: number }[] = [];
  readonly #pendingKeys = new Set<string>();
  /** Requests already in some batch of the current view that has not executed yet. */
  readonly #assigned = new Set<string>();
  #lastBatchTimestamp = 0;

  // request timers
  readonly #outstanding = new Map<string, Outstanding>();
  #progressDeadline: number | undefined;

  // view change
  readonly #viewChanges = new Map<number, Map<string, SignedViewChange>>();
  #newViewDeadline: number | undefined;
  #viewChangeTimeout: number;
  #newViewSentFor = -1;
  /** This replica's latest view-change, sent again while the view change lasts. */
  #ownViewChange: SignedViewChange | undefined;
  #viewChangeCount = 0;

  // statuses and transfer
  readonly #peerStatus = new Map<string, PeerStatus>();
  #nextStatusAt: number;
  #executedAtLastCheck: number;
  #synced = false;
  readonly #startedAt: number;
  #transferring: TransferTarget | undefined;
  #transferCount = 0;
  /** The quorum's state this replica must recover to, from a divergence until the transfer lands. */
  #recovery: TransferTarget | undefined;
  #divergenceCount = 0;
  #lastDivergence: Divergence | undefined;
  readonly #rejected = Object.fromEntries(PROTOCOL_REJECTIONS.map((r) => [r, 0])) as Record<ProtocolRejection, number>;

  constructor(options: ReplicaOptions, env: ReplicaEnvironment) {
    if (!options.members.includes(options.id)) throw new Error(`replica ${options.id} is not a member`);
    if (options.members.length < 4) throw new Error(`PBFT needs at least 4 replicas, not ${options.members.length}`);
    this.#options = options;
    this.#env = env;
    this.id = options.id;
    this.members = options.members;
    const n = options.members.length;
    this.f = Math.floor((n - 1) / 3);
    this.quorum = Math.ceil((n + this.f + 1) / 2);
    this.#lastExecuted = options.executed;
    this.#stable = options.stable;
    this.#ownCheckpoints.set(options.stable.seq, options.stable.digest);
    this.#nextSeq = options.executed + 1;
    this.#viewChangeTimeout = options.viewChangeTimeoutMs;
    this.#startedAt = options.now;
    this.#clock = options.now;
    this.#nextStatusAt = options.now + options.statusIntervalMs;
    this.#executedAtLastCheck = options.executed;
    for (const entry of options.recovered?.prePrepared ?? []) {
      if (entry.seq <= options.stable.seq) continue;
      const slot = this.#slot(entry.seq);
      slot.prePrepared.set(entry.digest, Math.max(entry.view, slot.prePrepared.get(entry.digest) ?? 0));
      this.#nextSeq = Math.max(this.#nextSeq, entry.seq + 1);
    }
    for (const entry of options.recovered?.prepared ?? []) {
      if (entry.seq <= options.stable.seq) continue;
      const slot = this.#slot(entry.seq);
      if (!slot.prepared || slot.prepared.view < entry.view) slot.prepared = { view: entry.view, digest: entry.digest, batch: entry.batch };
    }
  }

  get view(): number {
    return this.#view;
  }

  get active(): boolean {
    return this.#active;
  }

  get lastExecuted(): number {
    return this.#lastExecuted;
  }

  /** From a divergence until the recovery's state transfer lands: this replica's state is not the quorum's. */
  get diverged(): boolean {
    return this.#recovery !== undefined;
  }

  primaryOf(view: number): string {
    return this.members[view % this.members.length] as string;
  }

  get isPrimary(): boolean {
    return this.primaryOf(this.#view) === this.id;
  }

  /** Announces this replica and asks the others for their status (view, executed). */
  start(): void {
    this.#broadcast(this.#statusMessage(true));
  }

  /** A request from a client of this node. */
  submit(request: PbftRequest, now: number): SubmitResult {
    this.#clock = now;
    const key = requestKey(request);
    if (this.#outstanding.has(key) || this.#env.isExecuted(request)) return "duplicate";
    if (this.#outstanding.size >= MAX_PENDING) return "full";
    this.#outstanding.set(key, { request, local: true, broadcast: false });
    this.#armProgress(now);
    if (this.isPrimary) {
      if (this.#active) this.#enqueue(request, now);
    } else {
      this.#env.send(this.primaryOf(this.#view), { type: "request", request });
    }
    return "accepted";
  }

  /** A message whose sender the transport has authenticated. */
  receive(from: string, message: PbftMessage, now: number): void {
    this.#clock = now;
    if (from === this.id || !this.members.includes(from)) return;
    switch (message.type) {
      case "request":
        return this.#onRequest(from, message.request, now);
      case "preprepare":
        return this.#onPrePrepare(from, message, now);
      case "prepare":
        return this.#onPrepare(from, message);
      case "commit":
        return this.#onCommit(from, message, now);
      case "checkpoint":
        return this.#onCheckpoint(from, message.seq, message.digest);
      case "viewchange":
        return this.#onViewChange(from, message.signed, now);
      case "newview":
        return this.#onNewView(from, message, now);
      case "status":
        return this.#onStatus(from, message, now);
    }
  }

  tick(now: number): void {
    this.#clock = now;
    if (!this.#synced && now - this.#startedAt >= 2 * this.#options.statusIntervalMs) this.#becomeSynced();
    this.#cut(now);
    if (this.#active && this.#progressDeadline !== undefined && now >= this.#progressDeadline) {
      const local = [...this.#outstanding.values()].filter((o) => o.local && !o.broadcast);
      if (local.length > 0) {
        // Like a client that got no reply: multicast, so every backup starts its timer.
        for (const o of local) {
          o.broadcast = true;
          this.#broadcast({ type: "request", request: o.request });
        }
        this.#progressDeadline = now + this.#options.requestTimeoutMs;
      } else {
        this.#env.log("pbft.request_timeout", { view: this.#view, outstanding: this.#outstanding.size });
        this.#startViewChange(this.#view + 1, now);
      }
    }
    if (!this.#active && this.#newViewDeadline !== undefined && now >= this.#newViewDeadline) {
      this.#viewChangeTimeout *= 2;
      this.#startViewChange(this.#view + 1, now);
    }
    if (now >= this.#nextStatusAt) {
      this.#nextStatusAt = now + this.#options.statusIntervalMs;
      this.#broadcast(this.#statusMessage(false));
      // A recovery whose transfer failed (its sources unreachable) tries again.
      if (this.#recovery && !this.#transferring) this.#startRecovery();
      this.#checkLag();
    }
  }

  /**
   * The environment reached `seq` and `digest` by state transfer. `forked`: to get there it
   * had to roll this replica's ledger back past blocks the sources do not hold (its own
   * state had diverged, whether or not a checkpoint showed it yet).
   */
  transferDone(seq: number, digest: string, now: number, forked = false): void {
    this.#clock = now;
    const target = this.#transferring;
    this.#transferring = undefined;
    if (forked && !target?.diverged && !this.#recovery) {
      // Found by the transfer, not at a checkpoint: count it all the same.
      this.#noteDivergence({ seq, own: "", quorum: digest }, target?.sources ?? []);
    }
    if (target?.diverged || forked) {
      this.#recovered(seq, digest, now);
      return;
    }
    if (seq > this.#lastExecuted) {
      this.#lastExecuted = seq;
      this.#transferCount++;
      this.#env.log("pbft.state_transferred", { seq, digest });
      // Only a checkpoint number moves the low watermark, so view-changes stay comparable.
      if (seq % this.#options.checkpointInterval === 0) {
        this.#ownCheckpoints.set(seq, digest);
        if (seq > this.#stable.seq) this.#makeStable({ seq, digest });
      }
      this.#nextSeq = Math.max(this.#nextSeq, seq + 1);
      this.#forgetExecuted(now);
    }
    this.#executeReady(now);
  }

  transferFailed(): void {
    this.#transferring = undefined;
  }

  /**
   * The ledger now ends at the quorum's state for `seq` (blocks this replica made beyond
   * it were rolled back): it executes again from there, re-running batches it had
   * committed above `seq` on the agreed state, and checkpoints with the others again.
   */
  #recovered(seq: number, digest: string, now: number): void {
    const recovery = this.#recovery;
    this.#transferCount++;
    this.#lastExecuted = seq;
    this.#executedAtLastCheck = seq;
    for (const held of [...this.#ownCheckpoints.keys()]) if (held >= seq) this.#ownCheckpoints.delete(held);
    if (seq % this.#options.checkpointInterval === 0) {
      this.#ownCheckpoints.set(seq, digest);
      if (seq > this.#stable.seq) this.#makeStable({ seq, digest });
    }
    // Requests in the rolled-back blocks are not executed any more: they run again from their committed slots.
    this.#nextSeq = Math.max(this.#nextSeq, seq + 1);
    if (recovery && recovery.seq > seq) {
      // A later quorum checkpoint disagreed meanwhile: recover up to it as well.
      this.#startRecovery();
      return;
    }
    this.#recovery = undefined;
    this.#env.log("pbft.divergence_recovered", { seq, digest, divergences: this.#divergenceCount });
    this.#forgetExecuted(now);
    this.#executeReady(now);
  }

  status(): ReplicaStatus {
    return {
      view: this.#view,
      primary: this.primaryOf(this.#view),
      active: this.#active,
      last_committed: this.#lastExecuted,
      last_stable_checkpoint: this.#stable.seq,
      low_watermark: this.#stable.seq,
      high_watermark: this.#stable.seq + this.#options.watermarkWindow,
      pending: this.#pending.length,
      outstanding: this.#outstanding.size,
      view_changes: this.#viewChangeCount,
      state_transfers: this.#transferCount,
      transferring: this.#transferring !== undefined,
      divergences: this.#divergenceCount,
      last_divergence: this.#lastDivergence ? { ...this.#lastDivergence } : null,
      diverged: this.#recovery !== undefined,
      rejected: { ...this.#rejected },
    };
  }

  // ---- requests and batches ----

  #onRequest(from: string, request: PbftRequest, now: number): void {
    if (!this.#env.verifyRequest(request)) {
      this.#reject("bad_request", from, { client: request.client });
      return;
    }
    if (this.#env.isExecuted(request)) return;
    const key = requestKey(request);
    if (!this.#outstanding.has(key)) {
      if (this.#outstanding.size >= MAX_PENDING) return;
      this.#outstanding.set(key, { request, local: false, broadcast: true });
      this.#armProgress(now);
    }
    if (this.#active && this.isPrimary) this.#enqueue(request, now);
  }

  #enqueue(request: PbftRequest, now: number): void {
    const key = requestKey(request);
    if (this.#assigned.has(key) || this.#pendingKeys.has(key)) return;
    this.#pending.push({ request, arrivedAt: now });
    this.#pendingKeys.add(key);
    this.#cut(now);
  }

  /** Primary: assigns numbers to pending requests while the window and the mode allow. */
  #cut(now: number): void {
    if (!this.#active || !this.isPrimary || !this.#synced || this.#transferring || this.#recovery) return;
    const { mode, batchSize, batchTimeoutMs, watermarkWindow } = this.#options;
    while (this.#pending.length > 0 && this.#nextSeq <= this.#stable.seq + watermarkWindow) {
      const oldest = this.#pending[0]?.arrivedAt ?? now;
      if (mode === "batch" && this.#pending.length < batchSize && now - oldest < batchTimeoutMs) break;
      if (mode !== "classic" && this.#nextSeq - 1 - this.#lastExecuted >= this.#options.maxBatchesInProgress && this.#pending.length < batchSize) break;
      const take = mode === "classic" ? 1 : this.#batchLength(Math.min(batchSize, this.#pending.length));
      const requests = this.#pending.splice(0, take).map((p) => p.request);
      for (const request of requests) {
        const key = requestKey(request);
        this.#pendingKeys.delete(key);
        this.#assigned.add(key);
      }
      this.#lastBatchTimestamp = Math.max(this.#lastBatchTimestamp, Math.floor(now));
      const batch: PbftBatch = { proposer: this.id, timestamp: this.#lastBatchTimestamp, requests };
      const digest = batchDigest(batch);
      const seq = this.#nextSeq++;
      const slot = this.#slot(seq);
      slot.prePrepare = { view: this.#view, digest, batch };
      slot.prePrepared.set(digest, this.#view);
      this.#env.persist({ type: "preprepared", entry: { seq, view: this.#view, digest } });
      this.#broadcast({ type: "preprepare", view: this.#view, seq, digest, batch });
    }
  }

  /** How many of the first `count` pending requests fit in one batch by bytes (at least one). */
  #batchLength(count: number): number {
    const maxBytes = this.#options.maxBatchBytes;
    if (maxBytes === undefined) return count;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const pending = this.#pending[i];
      if (!pending) return i;
      bytes += encodedBytes(pending.request);
      if (i > 0 && bytes > maxBytes) return i;
    }
    return count;
  }

  // ---- normal case ----

  #onPrePrepare(from: string, m: Extract<PbftMessage, { type: "preprepare" }>, now: number): void {
    if (m.view !== this.#view || !this.#active) {
      this.#reject("stale", from, { type: m.type, view: m.view, seq: m.seq });
      return;
    }
    if (from !== this.primaryOf(m.view)) {
      this.#reject("not_primary", from, { type: m.type, view: m.view });
      return;
    }
    if (m.seq <= this.#stable.seq) return; // already below the low watermark: an old duplicate
    // Backups tolerate one window of slack: their checkpoint may become stable a moment after the primary's.
    if (m.seq > this.#stable.seq + 2 * this.#options.watermarkWindow) {
      this.#suspectPrimary(`pre-prepare for ${m.seq} is outside the watermarks (${this.#stable.seq}, ${this.#stable.seq + this.#options.watermarkWindow}]`, now);
      return;
    }
    if (batchDigest(m.batch) !== m.digest) {
      this.#suspectPrimary(`pre-prepare ${m.view}/${m.seq} carries a digest that is not its batch's`, now);
      return;
    }
    for (const request of m.batch.requests) {
      if (!this.#env.verifyRequest(request)) {
        this.#suspectPrimary(`pre-prepare ${m.view}/${m.seq} carries a request with a bad authenticator`, now);
        return;
      }
    }
    const slot = this.#slot(m.seq);
    const held = slot.prePrepare;
    if (held && held.view === m.view) {
      if (held.digest !== m.digest) this.#suspectPrimary(`two pre-prepares for ${m.view}/${m.seq}`, now);
      return;
    }
    this.#acceptPrePrepare(m.seq, m.view, m.digest, m.batch);
    this.#checkPrepared(m.seq, now);
  }

  #acceptPrePrepare(seq: number, view: number, digest: string, batch: PbftBatch | null): void {
    const slot = this.#slot(seq);
    slot.prePrepare = { view, digest, batch };
    slot.prePrepared.set(digest, Math.max(view, slot.prePrepared.get(digest) ?? 0));
    this.#env.persist({ type: "preprepared", entry: { seq, view, digest } });
    if (seq > this.#lastExecuted) for (const request of batch?.requests ?? []) this.#assigned.add(requestKey(request));
    if (this.primaryOf(view) !== this.id) {
      this.#vote(slot.prepares, view, digest, this.id);
      this.#broadcast({ type: "prepare", view, seq, digest });
    }
  }

  #onPrepare(from: string, m: Extract<PbftMessage, { type: "prepare" }>): void {
    if (!this.#inWindow(m.seq) || m.view < this.#view) return;
    if (from === this.primaryOf(m.view)) {
      this.#reject("conflict", from, { type: m.type, reason: "the primary does not prepare" });
      return;
    }
    this.#vote(this.#slot(m.seq).prepares, m.view, m.digest, from);
    if (m.view === this.#view) this.#checkPrepared(m.seq, this.#clock);
  }

  #onCommit(from: string, m: Extract<PbftMessage, { type: "commit" }>, now: number): void {
    if (!this.#inWindow(m.seq) || m.view < this.#view) return;
    this.#vote(this.#slot(m.seq).commits, m.view, m.digest, from);
    if (m.view === this.#view) this.#checkCommitted(m.seq, now);
  }

  #checkPrepared(seq: number, now: number): void {
    const slot = this.#slots.get(seq);
    const pp = slot?.prePrepare;
    if (!slot || !pp || pp.view !== this.#view || !this.#active) return;
    const key = voteKey(pp.view, pp.digest);
    const prepares = slot.prepares.get(key)?.size ?? 0;
    if (prepares < this.quorum - 1) return;
    if (!slot.prepared || slot.prepared.view < pp.view || slot.prepared.digest !== pp.digest) {
      slot.prepared = { view: pp.view, digest: pp.digest, batch: pp.batch };
      this.#env.persist({ type: "prepared", entry: { seq, view: pp.view, digest: pp.digest, batch: pp.batch } });
    }
    if (!slot.commitSent.has(key)) {
      slot.commitSent.add(key);
      this.#vote(slot.commits, pp.view, pp.digest, this.id);
      this.#broadcast({ type: "commit", view: pp.view, seq, digest: pp.digest });
    }
    this.#checkCommitted(seq, now);
  }

  #checkCommitted(seq: number, now: number): void {
    const slot = this.#slots.get(seq);
    if (!slot || slot.committed || !slot.prepared || slot.prepared.view !== this.#view) return;
    const { digest, batch } = slot.prepared;
    if ((slot.commits.get(voteKey(this.#view, digest))?.size ?? 0) < this.quorum) return;
    slot.committed = { digest, batch };
    this.#executeReady(now);
  }

  #executeReady(now: number): void {
    let progressed = false;
    // A diverged replica executes nothing more on its state until it has the quorum's.
    while (!this.#transferring && !this.#recovery) {
      const seq = this.#lastExecuted + 1;
      const committed = this.#slots.get(seq)?.committed;
      if (!committed) break;
      if (committed.batch) this.#env.execute(seq, committed.digest, committed.batch);
      this.#lastExecuted = seq;
      progressed = true;
      for (const request of committed.batch?.requests ?? []) {
        const key = requestKey(request);
        this.#outstanding.delete(key);
        this.#assigned.delete(key);
      }
      if (seq % this.#options.checkpointInterval === 0) {
        const digest = this.#env.stateDigest();
        this.#ownCheckpoints.set(seq, digest);
        this.#broadcast({ type: "checkpoint", seq, digest });
        this.#onCheckpoint(this.id, seq, digest);
      }
    }
    if (progressed) {
      this.#progressDeadline = this.#outstanding.size > 0 ? now + this.#options.requestTimeoutMs : undefined;
      this.#cut(now);
    }
  }

  // ---- checkpoints ----

  #onCheckpoint(from: string, seq: number, digest: string): void {
    const window = this.#options.watermarkWindow;
    if (seq <= this.#stable.seq || seq % this.#options.checkpointInterval !== 0 || seq > this.#stable.seq + 4 * window) return;
    let votes = this.#checkpointVotes.get(seq);
    if (!votes) this.#checkpointVotes.set(seq, (votes = new Map()));
    votes.set(from, digest);
    // The quorum's digest, whichever vote completed it: this replica's own vote may come
    // after the others' (it executed the number last) and must still be compared.
    const byDigest = new Map<string, string[]>();
    for (const [id, d] of votes) byDigest.set(d, [...(byDigest.get(d) ?? []), id]);
    const agreed = [...byDigest.entries()].find(([, ids]) => ids.length >= this.quorum);
    if (!agreed) return;
    const [quorumDigest, matching] = agreed;
    const own = this.#ownCheckpoints.get(seq);
    if (own === quorumDigest) {
      this.#makeStable({ seq, digest: quorumDigest });
      this.#cut(this.#clock);
    } else if (own !== undefined) {
      const sources = matching.filter((id) => id !== this.id);
      if (this.#recovery) {
        // Still recovering from this divergence: aim at the later agreed state instead (the transfer in flight goes on to it).
        if (this.#recovery.seq < seq) this.#recovery = { seq, digest: quorumDigest, sources, diverged: true };
        return;
      }
      this.#noteDivergence({ seq, own, quorum: quorumDigest }, sources);
      this.#startRecovery();
    } else if (this.#lastExecuted < seq) {
      this.#requestTransfer({ seq, digest: quorumDigest, sources: matching.filter((id) => id !== this.id) });
    }
  }

  /**
   * Fabric 0.6 panicked here. This replica logs it, counts it, stops executing on its
   * state (and the node stops serving reads from it), and recovers: its ledger goes back
   * to the last block the quorum holds too, and the rest comes by state transfer.
   */
  #noteDivergence(divergence: Divergence, sources: string[]): void {
    this.#divergenceCount++;
    this.#lastDivergence = divergence;
    this.#env.log("pbft.checkpoint_diverged", { ...divergence, last_executed: this.#lastExecuted, sources, divergences: this.#divergenceCount });
    this.#recovery = { seq: divergence.seq, digest: divergence.quorum, sources, diverged: true };
  }

  #startRecovery(): void {
    const target = this.#recovery;
    if (!target || this.#transferring) return;
    this.#transferring = target;
    this.#env.log("pbft.state_transfer", { from_seq: this.#lastExecuted, to_seq: target.seq, sources: target.sources, diverged: true });
    this.#env.startTransfer(target);
  }

  #makeStable(checkpoint: Checkpoint): void {
    this.#stable = checkpoint;
    this.#env.persist({ type: "stable", seq: checkpoint.seq });
    for (const seq of [...this.#slots.keys()]) if (seq <= checkpoint.seq) this.#slots.delete(seq);
    for (const seq of [...this.#checkpointVotes.keys()]) if (seq <= checkpoint.seq) this.#checkpointVotes.delete(seq);
    for (const seq of [...this.#ownCheckpoints.keys()]) if (seq < checkpoint.seq) this.#ownCheckpoints.delete(seq);
    this.#ownCheckpoints.set(checkpoint.seq, checkpoint.digest);
  }

  // ---- view change ----

  #suspectPrimary(reason: string, now: number): void {
    this.#rejected.conflict++;
    this.#env.log("pbft.primary_suspected", { view: this.#view, primary: this.primaryOf(this.#view), reason });
    if (this.#active) this.#startViewChange(this.#view + 1, now);
  }

  #startViewChange(view: number, now: number): void {
    if (view <= this.#view && !this.#active) return;
    if (view < this.#view) return;
    this.#view = view;
    this.#active = false;
    this.#viewChangeCount++;
    this.#progressDeadline = undefined;
    this.#newViewDeadline = undefined;
    // Requests not yet ordered stay outstanding and are proposed again in the new view.
    this.#pending.length = 0;
    this.#pendingKeys.clear();
    this.#assigned.clear();
    const body: ViewChange = {
      view,
      replica: this.id,
      h: this.#stable.seq,
      cset: [...this.#ownCheckpoints.entries()].filter(([seq]) => seq >= this.#stable.seq).map(([seq, digest]) => ({ seq, digest })),
      pset: [],
      qset: [],
    };
    for (const [seq, slot] of [...this.#slots.entries()].sort((a, b) => a[0] - b[0])) {
      if (seq <= this.#stable.seq) continue;
      if (slot.prepared) body.pset.push({ seq, view: slot.prepared.view, digest: slot.prepared.digest, batch: slot.prepared.batch });
      for (const [digest, v] of slot.prePrepared) body.qset.push({ seq, view: v, digest });
    }
    const signed: SignedViewChange = { body, signature: this.#env.sign(viewChangeText(body)) };
    this.#env.log("pbft.view_change", { view, h: body.h, prepared: body.pset.length });
    this.#ownViewChange = signed;
    this.#storeViewChange(signed);
    this.#broadcast({ type: "viewchange", signed });
    this.#afterViewChangeVotes(now);
  }

  #onViewChange(from: string, signed: SignedViewChange, now: number): void {
    const body = signed.body;
    if (body.replica !== from || !this.#env.verify(from, viewChangeText(body), signed.signature)) {
      this.#reject("bad_view_change", from, { view: body.view });
      return;
    }
    if (body.view < this.#view || (body.view === this.#view && this.#active)) return;
    this.#storeViewChange(signed);
    // Liveness: f+1 replicas want a later view, so at least one correct one does; join the smallest.
    const above = [...this.#viewChanges.entries()].filter(([view]) => view > this.#view || (view === this.#view && this.#active));
    const replicas = new Set(above.flatMap(([, votes]) => [...votes.keys()]));
    replicas.delete(this.id);
    if (replicas.size >= this.f + 1) {
      this.#startViewChange(Math.min(...above.map(([view]) => view)), now);
      return;
    }
    this.#afterViewChangeVotes(now);
  }

  #storeViewChange(signed: SignedViewChange): void {
    // Only each replica's latest counts (a later view-change supersedes its earlier ones), which bounds what is kept.
    for (const [view, votes] of this.#viewChanges) {
      const held = votes.get(signed.body.replica);
      if (held && view > signed.body.view) return;
      if (held && view < signed.body.view) votes.delete(signed.body.replica);
      if (votes.size === 0) this.#viewChanges.delete(view);
    }
    let votes = this.#viewChanges.get(signed.body.view);
    if (!votes) this.#viewChanges.set(signed.body.view, (votes = new Map()));
    votes.set(signed.body.replica, signed);
  }

  #afterViewChangeVotes(now: number): void {
    if (this.#active) return;
    const votes = this.#viewChanges.get(this.#view);
    if (!votes || votes.size < this.quorum) return;
    this.#newViewDeadline ??= now + this.#viewChangeTimeout;
    if (this.primaryOf(this.#view) === this.id && this.#newViewSentFor < this.#view) {
      const viewChanges = [...votes.values()];
      const decision = decideNewView(viewChanges.map((v) => v.body), this.quorum, this.f, this.#options.watermarkWindow);
      if (!decision) return;
      this.#newViewSentFor = this.#view;
      const message: PbftMessage = { type: "newview", view: this.#view, viewChanges, entries: decision.entries };
      this.#env.log("pbft.new_view_sent", { view: this.#view, checkpoint: decision.checkpoint.seq, entries: decision.entries.length });
      this.#broadcast(message);
      this.#installNewView(this.#view, viewChanges, decision, now);
    }
  }

  #onNewView(from: string, m: Extract<PbftMessage, { type: "newview" }>, now: number): void {
    if (m.view < this.#view || (m.view === this.#view && this.#active)) return;
    if (from !== this.primaryOf(m.view)) {
      this.#reject("not_primary", from, { type: m.type, view: m.view });
      return;
    }
    const replicas = new Set<string>();
    for (const signed of m.viewChanges) {
      const body = signed.body;
      if (body.view !== m.view || replicas.has(body.replica) || !this.members.includes(body.replica) || !this.#env.verify(body.replica, viewChangeText(body), signed.signature)) {
        this.#reject("bad_new_view", from, { view: m.view, reason: `view-change of ${body.replica} does not verify` });
        return;
      }
      replicas.add(body.replica);
    }
    const decision = replicas.size >= this.quorum ? decideNewView(m.viewChanges.map((v) => v.body), this.quorum, this.f, this.#options.watermarkWindow) : undefined;
    const same =
      decision !== undefined &&
      decision.entries.length === m.entries.length &&
      decision.entries.every((entry, i) => {
        const sent = m.entries[i];
        return sent !== undefined && sent.seq === entry.seq && sent.digest === entry.digest && (sent.digest === "" ? sent.batch === null : sent.batch !== null && batchDigest(sent.batch) === sent.digest);
      });
    if (!decision || !same) {
      this.#reject("bad_new_view", from, { view: m.view, reason: "its entries do not follow from its view-changes" });
      if (m.view >= this.#view) this.#startViewChange(m.view + 1, now);
      return;
    }
    this.#installNewView(m.view, m.viewChanges, { checkpoint: decision.checkpoint, entries: m.entries }, now);
  }

  #installNewView(view: number, viewChanges: SignedViewChange[], decision: NewViewDecision, now: number): void {
    this.#view = view;
    this.#active = true;
    this.#newViewDeadline = undefined;
    this.#viewChangeTimeout = this.#options.viewChangeTimeoutMs;
    for (const v of [...this.#viewChanges.keys()]) if (v <= view) this.#viewChanges.delete(v);
    this.#env.log("pbft.new_view", { view, primary: this.primaryOf(view), checkpoint: decision.checkpoint.seq });
    const cp = decision.checkpoint;
    if (cp.seq > this.#stable.seq) {
      if (this.#lastExecuted < cp.seq) {
        const sources = viewChanges.filter((v) => v.body.cset.some((c) => c.seq === cp.seq && c.digest === cp.digest)).map((v) => v.body.replica);
        this.#requestTransfer({ seq: cp.seq, digest: cp.digest, sources: sources.filter((id) => id !== this.id) });
      }
      this.#makeStable(cp);
    }
    let maxSeq = Math.max(this.#stable.seq, this.#lastExecuted);
    for (const entry of decision.entries) {
      if (entry.seq <= this.#stable.seq) continue;
      this.#acceptPrePrepare(entry.seq, view, entry.digest, entry.batch);
      maxSeq = Math.max(maxSeq, entry.seq);
    }
    this.#nextSeq = maxSeq + 1;
    for (const entry of decision.entries) this.#checkPrepared(entry.seq, now);
    this.#afterViewInstalled(now);
  }

  /** Outstanding requests go to the new primary (or into its queue); timers restart. */
  #afterViewInstalled(now: number): void {
    this.#progressDeadline = undefined;
    this.#forgetExecuted(now);
    const primary = this.primaryOf(this.#view);
    for (const o of this.#outstanding.values()) {
      if (primary === this.id) this.#enqueue(o.request, now);
      else if (o.local) this.#env.send(primary, { type: "request", request: o.request });
    }
    this.#cut(now);
  }

  // ---- statuses and state transfer ----

  #onStatus(from: string, m: Extract<PbftMessage, { type: "status" }>, now: number): void {
    this.#peerStatus.set(from, { view: m.view, active: m.active, executed: m.executed, digest: m.digest, maxSeq: m.maxSeq });
    if (m.wantReply) this.#env.send(from, this.#statusMessage(false));
    if (!this.#synced && this.#peerStatus.size >= this.f + 1) this.#becomeSynced();
    // f+1 replicas active in a later view: at least one correct one is; join it.
    const views = [...this.#peerStatus.values()].filter((s) => s.active).map((s) => s.view).sort((a, b) => b - a);
    const vouched = views[this.f];
    if (vouched !== undefined && (vouched > this.#view || (vouched === this.#view && !this.#active))) {
      this.#view = vouched;
      this.#active = true;
      this.#newViewDeadline = undefined;
      this.#viewChangeTimeout = this.#options.viewChangeTimeoutMs;
      for (const v of [...this.#viewChanges.keys()]) if (v <= vouched) this.#viewChanges.delete(v);
      const seen = [...this.#peerStatus.values()].filter((s) => s.view === vouched).map((s) => s.maxSeq);
      this.#nextSeq = Math.max(this.#nextSeq, this.#lastExecuted + 1, ...seen.map((s) => s + 1));
      this.#env.log("pbft.view_adopted", { view: vouched, primary: this.primaryOf(vouched) });
      this.#afterViewInstalled(now);
    }
  }

  #becomeSynced(): void {
    this.#synced = true;
    const seen = [...this.#peerStatus.values()].filter((s) => s.view === this.#view).map((s) => s.maxSeq + 1);
    this.#nextSeq = Math.max(this.#nextSeq, ...seen);
    if (!this.#active && this.#view === 0 && this.#viewChanges.size === 0) {
      this.#active = true;
      this.#afterViewInstalled(this.#clock);
    }
  }

  /** Every status interval: if this replica did not move and f+1 others vouch for a later state, fetch it. */
  #checkLag(): void {
    const stuck = this.#lastExecuted === this.#executedAtLastCheck;
    this.#executedAtLastCheck = this.#lastExecuted;
    if (!stuck) return;
    this.#retransmit();
    if (this.#transferring) return;
    const groups = new Map<string, { seq: number; digest: string; sources: string[] }>();
    for (const [id, s] of this.#peerStatus) {
      if (s.executed <= this.#lastExecuted) continue;
      const key = `${s.executed}|${s.digest}`;
      const group = groups.get(key) ?? { seq: s.executed, digest: s.digest, sources: [] };
      group.sources.push(id);
      groups.set(key, group);
    }
    const best = [...groups.values()].filter((g) => g.sources.length >= this.f + 1).sort((a, b) => b.seq - a.seq)[0];
    if (best) this.#requestTransfer(best);
  }

  /**
   * Links may lose messages: a replica that did not move for a status interval sends
   * again what it sent for the numbers it has not executed, and its latest checkpoint.
   * Receivers count every vote once, so repeats are harmless.
   */
  #retransmit(): void {
    if (!this.#active) {
      // Replicas that were down when it was sent need it to reach a quorum.
      if (this.#ownViewChange?.body.view === this.#view) this.#broadcast({ type: "viewchange", signed: this.#ownViewChange });
      return;
    }
    const primary = this.primaryOf(this.#view);
    for (const [seq, slot] of this.#slots) {
      const pp = slot.prePrepare;
      if (seq <= this.#lastExecuted || !pp || pp.view !== this.#view) continue;
      if (primary === this.id && pp.batch) this.#broadcast({ type: "preprepare", view: pp.view, seq, digest: pp.digest, batch: pp.batch });
      if (primary !== this.id) this.#broadcast({ type: "prepare", view: pp.view, seq, digest: pp.digest });
      if (slot.commitSent.has(voteKey(pp.view, pp.digest))) this.#broadcast({ type: "commit", view: pp.view, seq, digest: pp.digest });
    }
    const latest = Math.max(...this.#ownCheckpoints.keys());
    const digest = this.#ownCheckpoints.get(latest);
    if (latest > this.#stable.seq && digest !== undefined) this.#broadcast({ type: "checkpoint", seq: latest, digest });
  }

  #requestTransfer(target: TransferTarget): void {
    if (this.#transferring || target.seq <= this.#lastExecuted) return;
    this.#transferring = target;
    this.#env.log("pbft.state_transfer", { from_seq: this.#lastExecuted, to_seq: target.seq, sources: target.sources });
    this.#env.startTransfer(target);
  }

  #statusMessage(wantReply: boolean): PbftMessage {
    let maxSeq = this.#lastExecuted;
    for (const [seq, slot] of this.#slots) if (slot.prePrepare?.view === this.#view) maxSeq = Math.max(maxSeq, seq);
    return { type: "status", view: this.#view, active: this.#active, executed: this.#lastExecuted, digest: this.#env.stateDigest(), maxSeq, wantReply };
  }

  // ---- helpers ----

  #forgetExecuted(now: number): void {
    for (const [key, o] of this.#outstanding) if (this.#env.isExecuted(o.request)) this.#outstanding.delete(key);
    this.#progressDeadline = undefined;
    this.#armProgress(now);
  }

  #armProgress(now: number): void {
    if (this.#outstanding.size > 0 && this.#progressDeadline === undefined) {
      this.#progressDeadline = now + this.#options.requestTimeoutMs;
    }
  }

  #inWindow(seq: number): boolean {
    return seq > this.#stable.seq && seq <= this.#stable.seq + 2 * this.#options.watermarkWindow;
  }

  #slot(seq: number): Slot {
    let slot = this.#slots.get(seq);
    if (!slot) {
      slot = { prepares: new Map(), commits: new Map(), commitSent: new Set(), prePrepared: new Map() };
      this.#slots.set(seq, slot);
    }
    return slot;
  }

  #vote(votes: Map<string, Set<string>>, view: number, digest: string, replica: string): void {
    const key = voteKey(view, digest);
    let set = votes.get(key);
    if (!set) votes.set(key, (set = new Set()));
    set.add(replica);
  }

  #broadcast(message: PbftMessage): void {
    for (const member of this.members) if (member !== this.id) this.#env.send(member, message);
  }

  #reject(reason: ProtocolRejection, from: string, fields: Record<string, unknown>): void {
    this.#rejected[reason]++;
    if (reason !== "stale") this.#env.log("pbft.message_rejected", { reason, from, ...fields });
  }
}

function voteKey(view: number, digest: string): string {
  return `${view}|${digest}`;
}

export interface NewViewDecision {
  checkpoint: Checkpoint;
  entries: NewViewEntry[];
}

/**
 * The new-view rules of the TOCS paper (as Fabric 0.6 implemented them): the starting
 * checkpoint is the highest one that f+1 view-changes hold and that is at or above the
 * low watermark of a quorum; then, for each number above it, the batch that some
 * view-change prepared and that (A1) a quorum does not contradict and (A2) f+1
 * pre-prepared in that view or later, else the null request if a quorum prepared
 * nothing there. Undefined when some number cannot be decided yet (wait for more).
 */
export function decideNewView(viewChanges: readonly ViewChange[], quorum: number, f: number, window: number): NewViewDecision | undefined {
  let checkpoint: Checkpoint | undefined;
  const claims = new Map<string, Checkpoint & { holders: number }>();
  for (const vc of viewChanges) {
    for (const c of vc.cset) {
      const key = `${c.seq}|${c.digest}`;
      const claim = claims.get(key) ?? { ...c, holders: 0 };
      claim.holders++;
      claims.set(key, claim);
    }
  }
  for (const claim of claims.values()) {
    if (claim.holders < f + 1) continue;
    if (viewChanges.filter((vc) => vc.h <= claim.seq).length < quorum) continue;
    if (!checkpoint || claim.seq > checkpoint.seq) checkpoint = { seq: claim.seq, digest: claim.digest };
  }
  if (!checkpoint) return undefined;
  const entries: NewViewEntry[] = [];
  let maxDecided = checkpoint.seq;
  for (let n = checkpoint.seq + 1; n <= checkpoint.seq + 2 * window; n++) {
    const chosen = chooseFor(n, viewChanges, quorum, f);
    if (chosen === undefined) {
      const empty = viewChanges.filter((vc) => vc.h < n && !vc.pset.some((p) => p.seq === n)).length;
      if (empty < quorum) return undefined;
      entries.push({ seq: n, digest: "", batch: null });
      continue;
    }
    entries.push({ seq: n, digest: chosen.digest, batch: chosen.batch });
    maxDecided = n;
  }
  // Null requests above the last real one are not needed.
  return { checkpoint, entries: entries.filter((e) => e.seq <= maxDecided) };
}

function chooseFor(n: number, viewChanges: readonly ViewChange[], quorum: number, f: number): PreparedEntry | undefined {
  for (const vc of viewChanges) {
    for (const em of vc.pset) {
      if (em.seq !== n) continue;
      const a1 = viewChanges.filter(
        (other) => other.h < n && other.pset.every((p: CertEntry) => p.seq !== n || p.view < em.view || (p.view === em.view && p.digest === em.digest)),
      ).length;
      if (a1 < quorum) continue;
      const a2 = viewChanges.filter((other) => other.qset.some((q) => q.seq === n && q.view >= em.view && q.digest === em.digest)).length;
      if (a2 < f + 1) continue;
      if (em.digest !== "" && (em.batch === null || batchDigest(em.batch) !== em.digest)) continue;
      return em;
    }
  }
  return undefined;
}
