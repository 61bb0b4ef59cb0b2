/**
 * Exit codes of `chainpool <command>`, for scripts. Documented in README.md; a test keeps
 * the two in step.
 */
export const EXIT = {
  /** It worked. */
  OK: 0,
  /** The daemon refused or failed the operation (conflict, host unavailable, internal error). */
  FAILED: 1,
  /** Bad command line, a bad config file, or a request the daemon rejected as bad (400). */
  USAGE: 2,
  /** No chainpool daemon (chaincode commands: no chain node) answered at the URL (refused, timed out, not its reply). */
  UNREACHABLE: 3,
  /** The API key is missing, unknown, or a front key where an operator key is needed (401/403). */
  UNAUTHORIZED: 4,
  /** No such host or cluster (404). */
  NOT_FOUND: 5,
  /** apply: no free cluster matches right now; try again later. */
  NO_CLUSTER: 6,
  /** --wait: the pool did not reach the target within --timeout; down: the daemon was still stopping then. */
  TIMEOUT: 7,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected CLI failure: one line on stderr and this exit code, never a stack trace. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string) => new CliError(EXIT.USAGE, message);
