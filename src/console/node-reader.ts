/**
 * Reads a cluster's chain from its nodes, for the console's cluster page: each node's height
 * (its own /chain) and the last blocks with their transactions (from the first node that
 * answers). Through the daemon, so the browser never talks to a node (nor learns more than
 * the page shows). Every call is bounded; a node that does not answer is reported, not waited for.
 */

export interface NodeReading {
  node: string;
  url: string;
  height?: number;
  error?: string;
}

export interface BlockReading {
  number: number;
  proposer: string;
  time: string;
  transactions: Array<{ txid: string; chaincode: string; fn: string; ok: boolean }>;
}

export interface ChainReading {
  nodes: NodeReading[];
  blocks: BlockReading[];
  /** Why the blocks could not be read, when they could not. */
  blocksError?: string;
}

const TIMEOUT_MS = 1500;
const LAST_BLOCKS = 5;

async function getJson(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "error" });
  if (!res.ok) throw new Error(`answered ${res.status}`);
  return res.json();
}

const reason = (err: unknown) => ((err as Error).name === "TimeoutError" ? `no answer within ${TIMEOUT_MS} ms` : (err as Error).message);

/** `nodes`: node name -> its client base URL, URL secret included. */
export async function readChain(nodes: Record<string, string>): Promise<ChainReading> {
  const readings = await Promise.all(
    Object.entries(nodes).map(async ([node, url]): Promise<NodeReading> => {
      try {
        const chain = await getJson(`${url}/chain`);
        return { node, url, height: Number(chain.height) };
      } catch (err) {
        return { node, url, error: reason(err) };
      }
    }),
  );
  const source = readings.find((r) => r.height !== undefined);
  if (!source) return { nodes: readings, blocks: [], blocksError: "no node answered" };
  const numbers: number[] = [];
  for (let n = source.height! - 1; n >= 0 && numbers.length < LAST_BLOCKS; n--) numbers.push(n);
  try {
    const blocks = await Promise.all(numbers.map((n) => getJson(`${source.url}/chain/blocks/${n}`)));
    return {
      nodes: readings,
      blocks: blocks.map((b, i) => ({
        number: Number(b.number ?? numbers[i]),
        proposer: String(b.proposerID ?? ""),
        time: b.timestamp?.seconds ? new Date(Number(b.timestamp.seconds) * 1000).toISOString() : "",
        transactions: (Array.isArray(b.transactions) ? b.transactions : []).map((t: any, j: number) => ({
          txid: String(t.txid ?? t.uuid ?? ""),
          chaincode: String(t.chaincodeID?.name ?? ""),
          fn: String(t.payload?.function || (t.type === 1 ? "deploy" : "invoke")),
          ok: !(b.transactionResults?.[j]?.errorCode),
        })),
      })),
    };
  } catch (err) {
    return { nodes: readings, blocks: [], blocksError: `${source.node}: ${reason(err)}` };
  }
}
