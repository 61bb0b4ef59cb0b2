/** A member that is behind, as `/status` shows it under `consensus.lagging`. */
export interface Lag {
  /** How far behind the furthest member this node knows of (noops: blocks; pbft: sequence numbers). */
  behind: number;
  /** How long it has been behind without moving, in ms: what tells stuck from busy. */
  stalled_ms: number;
}

interface Member {
  position: number;
  movedAt: number;
  /** When it was last seen fall behind; undefined while level with the front. */
  behindSince: number | undefined;
}

/**
 * Which members of the cluster stay behind, from the positions this node learns (a
 * follower's height in a push reply, a replica's last executed sequence number in its
 * status). A member that is behind but keeps moving is busy, not stuck: what counts is
 * how long it has been behind without moving, which does not depend on how fast blocks
 * come. The daemon's health probe reads it from `/status` and decides what is too long.
 */
export class LagWatch {
  readonly #members = new Map<string, Member>();
  #front = 0;

  /** Records where `member` is now (this node included, so the front moves with it). */
  observe(member: string, position: number, now: number): void {
    const known = this.#members.get(member);
    if (!known) {
      this.#members.set(member, { position, movedAt: now, behindSince: undefined });
    } else if (position !== known.position) {
      known.position = position;
      known.movedAt = now;
    }
    this.#front = Math.max(this.#front, position);
    for (const entry of this.#members.values()) {
      if (entry.position >= this.#front) entry.behindSince = undefined;
      else entry.behindSince ??= now;
    }
  }

  /** The members behind the front, with how far and for how long without moving. */
  lagging(now: number): Record<string, Lag> {
    const lagging: Record<string, Lag> = {};
    for (const [id, entry] of this.#members) {
      if (entry.behindSince === undefined) continue;
      lagging[id] = { behind: this.#front - entry.position, stalled_ms: Math.max(0, now - Math.max(entry.behindSince, entry.movedAt)) };
    }
    return lagging;
  }
}
