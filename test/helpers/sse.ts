/** One Server-Sent Events message as a client sees it. */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Reads an SSE body message by message (comments, e.g. heartbeats, counted apart), waiting
 * for a condition with a deadline rather than for a guessed time.
 */
export class SseReader {
  readonly messages: SseMessage[] = [];
  comments = 0;
  ended = false;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #reading: Promise<void> | undefined;

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /** Pool events (messages without an event name), parsed. */
  get events(): Array<{ id: number; kind: string; level: string; cluster_id: string | null; user_id: string | null; data: Record<string, unknown> }> {
    return this.messages.filter((m) => m.event === undefined).map((m) => JSON.parse(m.data));
  }

  /** Reads until `done()` holds or the stream ends; fails past `timeoutMs`. */
  async until(done: (r: SseReader) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      if (this.ended) throw new Error(`stream ended before the condition held; got ${JSON.stringify(this.messages).slice(0, 2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`condition not met within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 2000)}`);
      this.#reading ??= this.#readChunk().finally(() => (this.#reading = undefined));
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#reading, new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
  }

  async #readChunk(): Promise<void> {
    const { done, value } = await this.#reader.read();
    if (done) {
      this.ended = true;
      return;
    }
    this.#buffer += this.#decoder.decode(value, { stream: true });
    for (let end = this.#buffer.indexOf("\n\n"); end >= 0; end = this.#buffer.indexOf("\n\n")) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const message: SseMessage = { data: "" };
      let fields = 0;
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) {
          this.comments++;
          continue;
        }
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (name === "id") message.id = value;
        else if (name === "event") message.event = value;
        else if (name === "data") message.data = message.data === "" ? value : `${message.data}\n${value}`;
        else continue; // retry:
        fields++;
      }
      if (fields > 0) this.messages.push(message);
    }
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}
