import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { csrfMatches, SessionStore } from "../../src/console/sessions.ts";

describe("SessionStore", () => {
  it("gives each session random, distinct id and CSRF token", () => {
    const store = new SessionStore({ idleMs: 1000, absoluteMs: 5000 });
    const a = store.create("x");
    const b = store.create("x");
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.csrf, b.csrf);
    assert.ok(a.id.length >= 43 && a.csrf.length >= 43, "256 bits each");
    assert.ok(csrfMatches(a, a.csrf));
    assert.ok(!csrfMatches(a, b.csrf));
    assert.ok(!csrfMatches(a, undefined));
    assert.ok(!csrfMatches(a, a.csrf.slice(1)));
  });

  it("expires a session idle too long, or alive past its absolute lifetime", () => {
    let now = 0;
    const store = new SessionStore({ idleMs: 1000, absoluteMs: 2500, now: () => now });
    const s = store.create("x");
    now = 999;
    assert.ok(store.get(s.id));
    now = 1998;
    assert.ok(store.get(s.id), "each get restarts the idle clock");
    now = 2499;
    assert.ok(store.get(s.id));
    assert.equal(store.remainingSeconds(s), 1);
    now = 2500;
    assert.equal(store.get(s.id), undefined, "absolute lifetime over");
    const idle = store.create("y");
    now += 1000;
    assert.equal(store.get(idle.id), undefined, "idle too long");
    assert.equal(store.size, 0, "expired sessions are dropped");
  });

  it("holds at most max sessions, dropping the least recently used", () => {
    const store = new SessionStore({ idleMs: 1000, absoluteMs: 5000, max: 2 });
    const a = store.create("a");
    const b = store.create("b");
    assert.ok(store.get(a.id)); // a used last: b is the least recently used
    const c = store.create("c");
    assert.equal(store.size, 2);
    assert.equal(store.get(b.id), undefined);
    assert.ok(store.get(a.id) && store.get(c.id));
  });
});
