/**
 * HTTP/1.1 pipelining over raw sockets: every request of a socket is written at once,
 * before any reply is read, as an impatient client (or an attacker) does. Node's fetch
 * never pipelines, so tests that need requests to pile up on a server use this.
 */
import { Buffer } from "node:buffer";
import { connect } from "node:net";

export interface PipelinedReply {
  status: number;
  body: string;
}

/** POSTs each JSON body to `url` over one socket, all written before the first reply; answers the replies in order. */
export function pipelinedPosts(url: string, bodies: readonly string[], timeoutMs = 60_000): Promise<PipelinedReply[]> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const replies: PipelinedReply[] = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${replies.length} of ${bodies.length} pipelined replies from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("connect", () => {
      const requests = bodies.map((body) => {
        const payload = Buffer.from(body, "utf8");
        const head = `POST ${pathname} HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\n\r\n`;
        return Buffer.concat([Buffer.from(head, "latin1"), payload]);
      });
      socket.write(Buffer.concat(requests));
    });
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) break;
        const head = buffered.subarray(0, end).toString("latin1");
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? "0");
        if (buffered.length < end + 4 + length) break;
        const status = Number(head.split(" ")[1]);
        replies.push({ status, body: buffered.subarray(end + 4, end + 4 + length).toString("utf8") });
        buffered = buffered.subarray(end + 4 + length);
      }
      if (replies.length === bodies.length) {
        clearTimeout(timer);
        socket.end();
        resolve(replies);
      }
    });
  });
}
