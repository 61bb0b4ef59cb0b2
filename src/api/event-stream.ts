import type { PoolEvent } from "../core/events.ts";
import type { EventFeed, EventQuery } from "../services/event-feed.ts";

export interface EventStreamOptions {
  feed: EventFeed;
  /** Send events after this id (a resume point); the history after it comes first, then live ones. */
  afterId: number;
  /** Narrowing, as EventFeed.list takes it. */
  filter: Pick<EventQuery, "warningsOnly" | "kinds">;
  /** A comment line this often keeps proxies and idle-connection timers from closing the stream. */
  heartbeatMs: number;
  /** Bytes queued for a client that does not read before it is cut off (it resumes with Last-Event-ID). */
  maxQueuedBytes?: number;
}

/** Events written to history-catching streams a page at a time, so a resume from 0 never builds one huge burst. */
const CATCH_UP_PAGE = 200;
/** What EventSource waits before it reconnects, in ms. */
const RETRY_MS = 2000;

const encoder = new TextEncoder();
/** Each event is encoded once however many streams send it (the feed hands them all the same object). */
const frames = new WeakMap<PoolEvent, Uint8Array>();
const frameOf = (event: PoolEvent): Uint8Array => {
  let frame = frames.get(event);
  if (!frame) {
    // JSON.stringify escapes newlines, so the data is one line as SSE needs.
    frame = encoder.encode(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
    frames.set(event, frame);
  }
  return frame;
};

/** Frames as one chunk: one socket write for a page or a burst instead of one per event. */
function concat(frames: Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0]!;
  let size = 0;
  for (const f of frames) size += f.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.byteLength;
  }
  return out;
}

/**
 * A Server-Sent Events stream of the feed: the history after `afterId` read a page per pull
 * (so only as fast as the client takes it), then, in the same synchronous turn as the last
 * page, a subscription for live events: nothing is missed between the two and nothing is sent
 * twice (ids only increase; each is sent only past the last one sent). A client whose queue
 * passes `maxQueuedBytes` is cut off rather than buffered without bound; one whose resume
 * point is older than the log keeps is told with an `event: truncated` message first. Live
 * events are sent in bursts, once per turn of the event loop: under a burst of applies a
 * stream costs one write per turn, not one per event (ten open streams cost ten writes per
 * event otherwise, which showed in bench:apply).
 */
export function eventStream(options: EventStreamOptions): ReadableStream<Uint8Array> {
  const { feed, filter } = options;
  const maxQueued = options.maxQueuedBytes ?? 1024 * 1024;
  const wanted = (e: PoolEvent) => (!filter.warningsOnly || e.level === "warn") && (!filter.kinds?.length || filter.kinds.includes(e.kind));
  let lastId = options.afterId;
  let live = false;
  let done = false;
  let unsubscribe = () => {};
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let burst: Uint8Array[] = [];
  const stop = () => {
    done = true;
    burst = [];
    unsubscribe();
    clearInterval(heartbeat);
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n\n`));
        const oldest = feed.oldestId();
        if (lastId > 0 && oldest > lastId + 1) {
          controller.enqueue(encoder.encode(`event: truncated\ndata: ${JSON.stringify({ after: lastId, oldest_id: oldest, message: "events between were dropped by the log's bounds; re-read the state" })}\n\n`));
        }
        heartbeat = setInterval(() => {
          if (!done) controller.enqueue(encoder.encode(": heartbeat\n\n"));
        }, options.heartbeatMs);
        // The heartbeat alone must not keep a stopping process alive.
        (heartbeat as { unref?: () => void }).unref?.();
      },
      pull(controller) {
        if (live || done) return;
        const page = feed.list({ ...filter, afterId: lastId, limit: CATCH_UP_PAGE });
        if (page.length > 0) {
          controller.enqueue(concat(page.map(frameOf)));
          lastId = page[page.length - 1]!.id;
        }
        if (page.length === CATCH_UP_PAGE) return; // more history: the next pull reads it
        // Caught up: subscribe now, in the turn of the last read, so no commit falls between.
        live = true;
        const flush = () => {
          if (done || burst.length === 0) return;
          const chunk = concat(burst);
          burst = [];
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) < -maxQueued) {
            stop();
            controller.close(); // what is queued still goes out; the client resumes after it
          }
        };
        unsubscribe = feed.subscribe(
          (event) => {
            if (done || event.id <= lastId || !wanted(event)) return;
            lastId = event.id;
            if (burst.push(frameOf(event)) === 1) setImmediate(flush);
          },
          () => {
            if (done) return;
            flush();
            stop();
            controller.close();
          },
        );
      },
      cancel() {
        stop();
      },
    },
    // Bytes, so the slow-client bound counts what waits in memory.
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}
