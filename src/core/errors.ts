/**
 * The one error type of the daemon. Every expected failure that reaches a client carries a
 * code from this closed list; `httpStatus` is the only place codes become HTTP statuses.
 */
export const ERROR_CODES = [
  "BAD_REQUEST",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "NO_CLUSTER_AVAILABLE",
  "CONFLICT",
  "RATE_LIMITED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "HOST_UNAVAILABLE",
  "INTERNAL",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class ChainpoolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChainpoolError";
    this.code = code;
  }
}

export function httpStatus(code: ErrorCode): 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503 {
  switch (code) {
    case "BAD_REQUEST":
      return 400;
    case "UNAUTHORIZED":
      return 401;
    case "FORBIDDEN":
      return 403;
    case "NOT_FOUND":
    case "NO_CLUSTER_AVAILABLE":
      return 404;
    case "CONFLICT":
      return 409;
    case "RATE_LIMITED":
      return 429;
    case "PAYLOAD_TOO_LARGE":
      return 413;
    case "UNSUPPORTED_MEDIA_TYPE":
      return 415;
    case "HOST_UNAVAILABLE":
      return 503;
    case "INTERNAL":
      return 500;
  }
}

export const badRequest = (message: string) => new ChainpoolError("BAD_REQUEST", message);
export const notFound = (message: string) => new ChainpoolError("NOT_FOUND", message);
export const conflict = (message: string) => new ChainpoolError("CONFLICT", message);
