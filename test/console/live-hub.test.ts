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

function tab(view?: string) {
  const messages: number[] = [];
  const contents: Array<string | undefined> = [];
  let ended = 0;
  let heard: () => void = () => {};
  const client: LiveClient = {
    view,
    send: ({ changes, content }) => {
      messages.push(changes);
      contents.push(content);
      heard();
    },
    end: () => void ended++,
  };
  return { client, messages, contents, ended: () => ended, next: () => new Promise<void>((r) => (heard = r)) };
}

/** Awaits `p` with the event loop held open: the hub's timer is unref'd (it must not keep a stopping daemon alive). */
async function held<T>(p: Promise<T>): Promise<T> {
  const keep = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(keep);
  }
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
    let renders = 0;
    const hub = new LiveHub({ source: feed.source, minIntervalMs: 0, views: { overview: () => String(++renders) } });
    const tabs = [tab("overview"), tab("overview"), tab("overview")];
    for (const t of tabs) hub.connect(t.client);
    const heard = Promise.all(tabs.map((t) => t.next()));
    feed.emit(5);
    await held(heard);
    for (const t of tabs) assert.deepEqual(t.messages, [5]);
    assert.equal(renders, 1, "one message for all tabs");
    hub.close();
  });

  it("renders a view once per message for every tab on it, and never while no tab follows it", async () => {
    const feed = fakeFeed();
    const renders = { overview: 0, other: 0 };
    const hub = new LiveHub({
      source: feed.source,
      minIntervalMs: 0,
      views: { overview: () => `{"n":${++renders.overview}}`, other: () => `${++renders.other}` },
    });
    assert.ok(hub.renders("overview"));
    assert.ok(!hub.renders("toString"), "only its own views");
    const onOverview = Array.from({ length: 10 }, () => tab("overview"));
    const plain = tab();
    const unknown = tab("nope");
    for (const t of [...onOverview, plain, unknown]) hub.connect(t.client);
    const heard = Promise.all([...onOverview, plain, unknown].map((t) => t.next()));
    feed.emit(3);
    await held(heard);
    assert.deepEqual(renders, { overview: 1, other: 0 }, "one render for ten tabs; none for a view no tab follows");
    for (const t of onOverview) assert.deepEqual(t.contents, ['{"n":1}']);
    assert.deepEqual(plain.contents, [undefined], "a tab on no view gets the bare message (it refetches)");
    assert.deepEqual(unknown.contents, [undefined]);
    hub.close();
  });

  it("sends the bare message when a view fails to render", async () => {
    const feed = fakeFeed();
    let tries = 0;
    const hub = new LiveHub({
      source: feed.source,
      minIntervalMs: 0,
      views: {
        overview: () => {
          tries++;
          throw new Error("the database is closing");
        },
      },
    });
    const [t, other] = [tab("overview"), tab("overview")];
    hub.connect(t.client);
    hub.connect(other.client);
    const heard = Promise.all([t.next(), other.next()]);
    feed.emit(1);
    await held(heard);
    assert.deepEqual(t.messages, [1]);
    assert.deepEqual(t.contents, [undefined]);
    assert.deepEqual(other.contents, [undefined]);
    assert.equal(tries, 1, "tried once for both tabs");
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
