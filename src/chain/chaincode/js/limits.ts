/**
 * What one JavaScript chaincode transaction may use. These are part of the protocol: every
 * node must apply the same ones, or a transaction near a limit would commit on one node and
 * fail on another. So they are constants of the build, not settings (the package limit is
 * the exception: it is checked where a deploy enters, see MAX_CODE_PACKAGE_BYTES).
 */

/** QuickJS calls the interrupt handler once per this many ticks (backward jumps and calls). */
export const TICKS_PER_INTERRUPT = 10_000;
/** Work one transaction may do, in interrupt periods: 2,000 x 10,000 = 20 million ticks (about a second here). */
export const BUDGET_INTERRUPTS = 2_000;
/** Host calls charge ticks too (their work happens outside the engine): each call, plus each pair a range answers. */
export const TICKS_PER_HOST_CALL = 50;
export const TICKS_PER_RANGE_PAIR = 20;

/**
 * QuickJS's memory limit for one chaincode's runtime. In this WebAssembly build QuickJS
 * cannot tell an allocation's real size once made (malloc_usable_size is not available),
 * so the limit refuses any single allocation that would pass it and counts every live
 * allocation as a few bytes: a 200 MB array or string fails at once, many small ones are
 * bounded by ENGINE_MEMORY_BYTES below.
 */
export const MEMORY_LIMIT_BYTES = 64 * 1024 * 1024;
/**
 * The WebAssembly memory all of a node's chaincode runtimes share, as a hard maximum: what
 * JavaScript chaincode can ever take from the node. A transaction that needs more fails
 * with "out of memory" and is run again in a fresh runtime, whose answer is recorded.
 */
export const ENGINE_MEMORY_BYTES = 256 * 1024 * 1024;
/**
 * QuickJS's own stack limit. Every QuickJS frame is also a frame of the WebAssembly engine on
 * the node's native stack (about 1 MB); 128 KiB of QuickJS stack (about 740 plain calls
 * deep) stays well inside it, so deep recursion ends in QuickJS's catchable, deterministic
 * "stack overflow" and never in the host's RangeError (which is still handled: see sandbox.ts).
 */
export const MAX_STACK_BYTES = 128 * 1024;

/** Per transaction: bytes written (keys and values), keys written, bytes read by range and partial-key queries. */
export const MAX_WRITE_BYTES = 1024 * 1024;
export const MAX_WRITES = 10_000;
export const MAX_KEY_BYTES = 4 * 1024;
export const MAX_READ_BYTES = 16 * 1024 * 1024;
/** Events one transaction may set, each name at most 256 characters. */
export const MAX_EVENTS = 16;
/** console lines one transaction may put into the node's log; the rest are counted. */
export const MAX_LOG_LINES = 20;
/** invokeChaincode nesting: a chaincode may call another, which may not call further. */
export const MAX_CALL_DEPTH = 2;
