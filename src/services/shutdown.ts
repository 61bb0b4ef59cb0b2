import type { LocalNodes } from "./local-nodes.ts";

/** What `POST /api/shutdown` asks of the process that runs the daemon. */
export interface ShutdownRequest {
  /** Also stop the local hosts' node processes (`chainpool down`); otherwise they keep running, as on SIGTERM. */
  stopLocalNodes: boolean;
  /** The request that asked, for the log. */
  requestId: string;
}

export interface ShutdownOptions {
  /** The daemon's data directory, absolute: `chainpool down --data DIR` checks it names this daemon. */
  dataDir: string;
  localNodes: LocalNodes;
}

/**
 * The daemon's own stop, as the operator API reaches it. The process lifecycle is main's
 * business, so main registers the handler; a daemon built in-process (tests) has none, and
 * the API says it cannot stop one.
 */
export class Shutdown {
  readonly dataDir: string;
  readonly localNodes: LocalNodes;
  #handler: ((request: ShutdownRequest) => void) | undefined;

  constructor(options: ShutdownOptions) {
    this.dataDir = options.dataDir;
    this.localNodes = options.localNodes;
  }

  /** Main: what to do when the API asks the daemon to stop. */
  onRequest(handler: (request: ShutdownRequest) => void): void {
    this.#handler = handler;
  }

  /** True when a handler took the request (it stops the daemon after the reply went out). */
  request(request: ShutdownRequest): boolean {
    if (!this.#handler) return false;
    this.#handler(request);
    return true;
  }
}
