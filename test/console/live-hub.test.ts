import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LiveHub, type ChangeSource, type LiveClient } from "../../src/console/live-hub.ts";

/** A feed reduced to what the hub uses; the real one is tested in test/services/event-feed.test.ts. */
function fakeFeed() {
  const listeners = new Map<(e: unknown) => void, (() => void) | undefined>();
  const source: ChangeSource = {
    subscribe(listener, onClose) {
      listeners.set(listener, onClose);
      return () => void listeners.delete(listener);
    },
  };
  return {
    source,
    emit: (n = 1) => {
      for (let i = 0; i < n; i++) for (const l of listeners.keys()) l({ id: i });
    },
    close: () => {
      for (const onClose of [...listeners.values()]) onClose?.();
      listeners.clear();
    },
    get listeners() {
      return listeners.size;
    },
  };
}

function tab() {
  const messages: number[] = [];
  let ended = 0;
  let heard: () => void = () => {};
  const client: LiveClient = {
    send: ({ changes }) => {
      messages.push(changes);
      heard();
    },
    end: () => void ended++,
  };
  return { client, messages, ended: () => ended, next: () => new Promise<void>((r) => (heard = r)) };
}

describe("LiveHub", () => {
  it("listens to the feed only while a tab is open, and once for any number of tabs", () => {
    const feed = fakeFeed();
    const hub = new LiveHub({ source: feed.source, minIntervalMs: 0 });
    assert.equal(feed.listeners, 0);
    const leave = Array.from({ length: 10 }, () => hub.connect(tab().client));
    assert.equal(feed.listeners, 1);
    for (const l of leave.slice(1)) l();
    assert.equal(feed.listeners, 1);
    leave[0]!();
    assert.equal(feed.listeners, 0);
    hub.close();
  });

  it("sends a burst of changes to each tab as one message counting them", async () => {
    const feed = fakeFeed();
    let flushes = 0;
    const hub = new LiveHub({ source: feed.source, minIntervalMs: 0, onFlush: () => flushes++ });
    const tabs = [tab(), tab(), tab()];
    for (const t of tabs) hub.connect(t.client);
    const heard = Promise.all(tabs.map((t) => t.next()));
    feed.emit(5);
    await heard;
    for (const t of tabs) assert.deepEqual(t.messages, [5]);
    assert.equal(flushes, 1, "one flush for all tabs");
    hub.close();
  });

  it("ends every tab when the feed closes, and a tab that comes later at once", () => {
    const feed = fakeFeed();
    const hub = new LiveHub({ source: feed.source, minIntervalMs: 0 });
    const a = tab();
    hub.connect(a.client);
    feed.close();
    assert.equal(a.ended(), 1);
    const late = tab();
    hub.connect(late.client);
    assert.equal(late.ended(), 1);
    hub.close();
    assert.equal(a.ended(), 1, "close is idempotent");
  });
});
