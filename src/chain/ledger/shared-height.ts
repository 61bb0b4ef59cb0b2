import type { Chain } from "./chain.ts";
import type { PeerTransport } from "../peer/peer-transport.ts";

/** How long one block page request may take while looking for where two ledgers part, in ms. */
const PROBE_TIMEOUT_MS = 5_000;

/**
 * How many blocks from genesis this node's ledger and `source`'s hold alike, or why the
 * source could not be asked. Its head first (the usual case: this node is only behind),
 * else a binary search: blocks are hash-chained, so once two ledgers differ at one number
 * they differ at every later one. Genesis is the cluster's and always shared. A source
 * that lies here can only make the caller fetch more, or fail the caller's own checks of
 * what it then fetches (origin, hash chain), so callers move on to another source.
 */
export async function sharedHeight(chain: Chain, transport: PeerTransport, source: string): Promise<number | string> {
  const sameAt = async (n: number): Promise<boolean | string> => {
    const fetched = await transport.fetchBlocks(source, n, PROBE_TIMEOUT_MS);
    if (!fetched.ok) return fetched.error;
    const first = fetched.page.blocks[0] as { number?: unknown; hash?: unknown } | undefined;
    return first?.number === n && first.hash === chain.block(n)?.hash;
  };
  let agreed = 0;
  let differs = chain.height - 1;
  const atHead = await sameAt(differs);
  if (typeof atHead === "string") return atHead;
  if (atHead) return chain.height;
  while (differs - agreed > 1) {
    const middle = Math.floor((agreed + differs) / 2);
    const same = await sameAt(middle);
    if (typeof same === "string") return same;
    if (same) agreed = middle;
    else differs = middle;
  }
  return agreed + 1;
}
