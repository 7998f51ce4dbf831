/** One item read from the request stream: a line's text, or a line over the byte cap (skipped). */
export type LineItem = { readonly kind: "line"; readonly text: string } | { readonly kind: "too_large"; readonly bytes: number };

/** Lines queued before the stream is paused: a client that writes without reading replies cannot grow memory without bound. */
const HIGH_WATER = 1024;
const LOW_WATER = 256;
const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines as chunks arrive (no per-byte work beyond finding newlines). A
 * line longer than `maxLineBytes` is never held: its bytes are dropped as they come and one
 * `too_large` item takes its place, so one hostile line costs no memory and the reader goes on.
 */
export class LineReader {
  readonly #stream: NodeJS.ReadableStream;
  readonly #max: number;
  readonly #queue: LineItem[] = [];
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** Bytes of the current line when it is over the cap (its parts already dropped), else -1. */
  #overBytes = -1;
  #ended = false;
  #paused = false;
  #waiter: ((item: LineItem | undefined) => void) | undefined;
  readonly #onData = (chunk: Buffer | string): void => this.#take(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  readonly #onEnd = (): void => this.#end();

  /** Reads `stream` until it ends or `stop()`. */
  constructor(stream: NodeJS.ReadableStream, maxLineBytes: number) {
    this.#stream = stream;
    this.#max = maxLineBytes;
    stream.on("data", this.#onData);
    stream.on("end", this.#onEnd);
    stream.on("close", this.#onEnd);
    stream.on("error", this.#onEnd);
  }

  /** The next item; undefined once the stream ended (or `stop()` was called) and every line was read. */
  next(): Promise<LineItem | undefined> {
    const item = this.#queue.shift();
    if (this.#paused && this.#queue.length <= LOW_WATER) {
      this.#paused = false;
      this.#stream.resume();
    }
    if (item !== undefined) return Promise.resolve(item);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Stops reading: lines already queued are dropped and `next()` resolves undefined. */
  stop(): void {
    this.#queue.length = 0;
    this.#parts = [];
    this.#partBytes = 0;
    this.#overBytes = -1;
    this.#end();
    this.#stream.off("data", this.#onData);
    this.#stream.pause();
  }

  #push(item: LineItem): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter(item);
      return;
    }
    this.#queue.push(item);
    if (!this.#paused && this.#queue.length >= HIGH_WATER) {
      this.#paused = true;
      this.#stream.pause();
    }
  }

  #take(chunk: Buffer): void {
    if (this.#ended) return;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      this.#lineEnds(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) this.#keep(chunk.subarray(start));
  }

  /** A piece of a line not ended yet: kept, or counted only once the line is over the cap. */
  #keep(piece: Buffer): void {
    if (this.#overBytes >= 0) {
      this.#overBytes += piece.length;
      return;
    }
    if (this.#partBytes + piece.length > this.#max) {
      this.#overBytes = this.#partBytes + piece.length;
      this.#parts = [];
      this.#partBytes = 0;
      return;
    }
    // A copy: the stream may reuse the chunk's memory once this callback returns.
    this.#parts.push(Buffer.from(piece));
    this.#partBytes += piece.length;
  }

  #lineEnds(last: Buffer): void {
    if (this.#overBytes >= 0 || this.#partBytes + last.length > this.#max) {
      const bytes = (this.#overBytes >= 0 ? this.#overBytes : this.#partBytes) + last.length;
      this.#overBytes = -1;
      this.#parts = [];
      this.#partBytes = 0;
      this.#push({ kind: "too_large", bytes });
      return;
    }
    const whole = this.#parts.length === 0 ? last : Buffer.concat([...this.#parts, last]);
    this.#parts = [];
    this.#partBytes = 0;
    const text = whole.toString("utf8");
    // Blank lines (a trailing newline, a keep-alive) are not requests.
    if (text.trim() === "") return;
    this.#push({ kind: "line", text });
  }

  #end(): void {
    if (this.#ended) return;
    // A last line without its newline is still a request (a client that ends with write(line) and close).
    if (this.#overBytes >= 0 || this.#partBytes > 0) this.#lineEnds(Buffer.alloc(0));
    this.#ended = true;
    const waiter = this.#waiter;
    if (waiter !== undefined && this.#queue.length === 0) {
      this.#waiter = undefined;
      waiter(undefined);
    }
  }
}
