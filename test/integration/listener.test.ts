import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";

/**
 * The real listener (src/main.ts) against clients that hold connections open: idle, trickling
 * their headers or their body, or hanging up mid-body. Its bounds are 10 s for headers and
 * 30 s for a whole request (README, "The APIs"); each test waits for the daemon to close the
 * connection with a deadline below 55 s, the bound the issue set.
 */
const DEADLINE_MS = 50_000;

describe("the listener closes idle and trickling connections, and logs hang-ups as what they are", { concurrency: true }, () => {
  let daemon: DaemonProcess;
  let port: number;
  before(async () => {
    // No hosts: nothing but the listener is under test.
    daemon = await DaemonProcess.create(({ listen, min, max }) => `listen = "127.0.0.1:${listen}"\nlog_json = true\nhosts = []\n[ports]\nmin = ${min}\nmax = ${max}\n`);
    await daemon.start();
    port = Number(new URL(daemon.url).port);
  });
  after(async () => daemon.destroy());

  /** Opens a connection; `closed` settles when the daemon closes it, with what it had sent. */
  const open = () =>
    new Promise<{ socket: Socket; closed: Promise<string>; received: () => string }>((ready, fail) => {
      const socket = connect(port, "127.0.0.1");
      let received = "";
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => void (received += d));
      const closed = new Promise<string>((done) => socket.on("close", () => done(received)));
      socket.once("connect", () => ready({ socket, closed, received: () => received }));
      socket.once("error", fail);
    });

  /** Writes `bytes` one character a second until the connection closes. */
  const trickle = (socket: Socket, bytes: string) => {
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || i >= bytes.length) return clearInterval(timer);
      socket.write(bytes[i++]!);
    }, 1000);
    socket.on("close", () => clearInterval(timer));
  };

  const closedWithin = async (closed: Promise<string>, what: string) => {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([closed, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), DEADLINE_MS)))]);
    clearTimeout(timer);
    assert.notEqual(outcome, undefined, `${what}: still open after ${DEADLINE_MS} ms`);
    return outcome!;
  };

  it("a connection that sends nothing is closed", async () => {
    const { closed } = await open();
    await closedWithin(closed, "idle connection");
  });

  it("a client trickling its headers a byte a second is cut off", async () => {
    const { socket, closed } = await open();
    trickle(socket, `GET /api/health HTTP/1.1\r\nhost: x\r\nx-slow: ${"a".repeat(200)}\r\n\r\n`);
    const reply = await closedWithin(closed, "trickled headers");
    assert.doesNotMatch(reply, /HTTP\/1\.1 200/, "the request was never served");
  });

  it("a client trickling its body a byte a second is cut off, and logged as a warning, not an error", async () => {
    const { socket, closed } = await open();
    const body = JSON.stringify({ action: "apply", user_id: "slow".repeat(50) });
    socket.write(`POST /v2/cluster_op HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nx-request-id: trickle-body\r\n\r\n`);
    trickle(socket, body);
    await closedWithin(closed, "trickled body");
    await waitFor("the trickled request's log line", async () => lines().some((l) => l.request_id === "trickle-body" && l.msg === "client closed the connection before the body arrived"), 10_000);
    assertNoErrorLine("trickle-body");
  });

  it("a client that hangs up mid-body is one warning line without a stack", async () => {
    const { socket, received } = await open();
    // Node answers "100 Continue" as it hands the request to the app: past that, the app is
    // waiting for the body when the client goes.
    socket.write(`POST /v2/cluster_op HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nexpect: 100-continue\r\nx-request-id: hang-up\r\n\r\n`);
    await waitFor("100 Continue", async () => received().includes("100 Continue"), 10_000);
    socket.write(`{"action":"ap`);
    socket.destroy();
    await waitFor("the hang-up's log line", async () => lines().some((l) => l.request_id === "hang-up" && l.msg === "client closed the connection before the body arrived"), 20_000);
    const line = lines().find((l) => l.request_id === "hang-up" && l.msg === "client closed the connection before the body arrived")!;
    assert.equal(line.level, "warn");
    assert.equal(line["stack"], undefined);
    assertNoErrorLine("hang-up");
  });

  const lines = (): Array<Record<string, unknown>> =>
    daemon
      .log()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  const assertNoErrorLine = (requestId: string) => {
    const errors = lines().filter((l) => l.request_id === requestId && l.level === "error");
    assert.deepEqual(errors, [], "no error line");
    assert.doesNotMatch(daemon.log(), /unexpected error|    at /, "no stack anywhere in the log");
  };
});
