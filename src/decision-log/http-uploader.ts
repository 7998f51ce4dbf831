// OPA's decision-log upload protocol (v1/plugins/logs): events are POSTed in batches to the
// service as one gzip-compressed JSON array (`Content-Type: application/json`, `Content-Encoding:
// gzip`); any answer but 2xx, or no answer, is retried with OPA's backoff (100 ms x1.6 per retry,
// 20% jitter, capped). One POST at a time, so the service sees batches in order and a retried
// batch is never sent twice at once. The buffer is bounded; what it cannot keep, and what is left
// when `close` gives up, is counted in the report and logged, never dropped silently.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { gzipSync } from "node:zlib";
import type { Logger } from "pino";
import { errorMessage } from "../errors.js";
import type { LogCounters } from "./decision-log.js";

/** The upload settings, defaults applied (decision-log.ts). */
export interface UploadSettings {
  readonly url: URL;
  readonly token: string | undefined;
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly flushMs: number;
  readonly minRetryMs: number;
  readonly maxRetryMs: number;
  readonly maxBufferedEvents: number;
  readonly closeTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** OPA's util.DefaultBackoff: `min` x1.6 per retry, capped at `max`, +-20% jitter. */
export function backoffMs(minMs: number, maxMs: number, retries: number): number {
  let delay = minMs;
  for (let n = retries; delay < maxMs && n > 0; n--) delay *= 1.6;
  delay = Math.min(delay, maxMs);
  // Jitter spreads a fleet's retries; it moves only when an upload happens, never what is logged.
  return Math.max(0, Math.round(delay * (1 + 0.2 * (Math.random() * 2 - 1))));
}

/** Batches events and POSTs them to a decision-log service, retrying until delivered or closed. */
export class HttpUploader {
  readonly destination: string;
  readonly #settings: UploadSettings;
  readonly #counters: LogCounters;
  readonly #logger: Pick<Logger, "error" | "warn">;
  /** Encoded events not yet in a POST, oldest first. */
  #queue: string[] = [];
  #queueBytes = 0;
  /** The batch being POSTed (and retried until delivered). */
  #inflight: string[] | undefined;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #abort: AbortController | undefined;
  /** Set by flush/close: send every event, full batch or not, without waiting for `flushMs`. */
  #draining = 0;
  #closed = false;
  #deadline = Number.POSITIVE_INFINITY;
  #waiters: Array<() => void> = [];
  #wake: (() => void) | undefined;

  constructor(settings: UploadSettings, counters: LogCounters, logger: Pick<Logger, "error" | "warn">) {
    this.#settings = settings;
    this.#counters = counters;
    this.#logger = logger;
    this.destination = `${settings.url.origin}${settings.url.pathname}`;
  }

  /** Buffers one encoded event; a full batch is sent now, a partial one after `flushMs`. */
  write(line: string): void {
    const bytes = Buffer.byteLength(line, "utf8");
    // "[" + "]": an event that cannot fit a POST alone is reported now (OPA drops it with an error too).
    if (bytes + 2 > this.#settings.maxBytes) {
      this.#counters.tooLarge += 1;
      this.#error(`an event of ${bytes} bytes is larger than upload.maxBytes (${this.#settings.maxBytes}); not sent`);
      return;
    }
    this.#queue.push(line);
    this.#queueBytes += bytes + 1;
    if (this.#queue.length > this.#settings.maxBufferedEvents) {
      const dropped = this.#queue.shift()!;
      this.#queueBytes -= Buffer.byteLength(dropped, "utf8") + 1;
      this.#counters.bufferFull += 1;
      // Once per thousand, not per event: a dead service must not flood the log as well.
      if (this.#counters.bufferFull % 1000 === 1) {
        this.#error(`buffer full (upload.maxBufferedEvents ${this.#settings.maxBufferedEvents}) while the service does not take events; dropped the oldest (${this.#counters.bufferFull} so far)`);
      }
    }
    if (this.#queue.length >= this.#settings.maxEvents || this.#queueBytes + 1 >= this.#settings.maxBytes) this.#kick();
    else if (this.#timer === undefined && !this.#running) this.#armTimer();
  }

  /** Events buffered or in flight. */
  pending(): number {
    return this.#queue.length + (this.#inflight?.length ?? 0);
  }

  /** Sends everything buffered now; resolves once it is delivered, or the uploader is closed. */
  async flush(): Promise<void> {
    this.#draining += 1;
    try {
      this.#kick();
      await this.#drained();
    } finally {
      this.#draining -= 1;
    }
  }

  /** Delivers what is left until `closeTimeoutMs`, then counts the rest as undelivered. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#deadline = Date.now() + this.#settings.closeTimeoutMs;
    this.#draining += 1;
    // Held (ref'd) while closing: the process stays up until the events are delivered or the time is up.
    const guard = setTimeout(() => this.#giveUp(), this.#settings.closeTimeoutMs);
    try {
      this.#kick();
      // A retry waiting out its backoff goes now.
      this.#wake?.();
      await this.#drained();
    } finally {
      clearTimeout(guard);
      this.#giveUp();
    }
  }

  /** Stops: what is still buffered or in flight is undelivered. */
  #giveUp(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#counters.atClose += this.pending();
    // Logged, but lastError keeps the failure that caused it.
    if (this.pending() > 0) this.#logger.error({ url: this.destination }, `decision log: ${this.pending()} events not delivered when the decision log closed${this.#counters.lastError ? ` (last error: ${this.#counters.lastError})` : ""}`);
    this.#queue = [];
    this.#queueBytes = 0;
    this.#inflight = undefined;
    this.#abort?.abort();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake?.();
    this.#settle();
  }

  #drained(): Promise<void> {
    if (this.pending() === 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #settle(): void {
    if (this.pending() > 0 && !this.#closed) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  #kick(): void {
    if (this.#running || this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running = true;
    void this.#run().finally(() => {
      this.#running = false;
      this.#settle();
    });
  }

  /** Sends batches while there are full ones (or while draining), retrying a failed one after a backoff. */
  async #run(): Promise<void> {
    let retries = 0;
    for (;;) {
      if (this.#closed) return;
      if (this.#inflight === undefined) {
        const full = this.#queue.length >= this.#settings.maxEvents || this.#queueBytes + 1 >= this.#settings.maxBytes;
        if (this.#queue.length === 0 || (!full && this.#draining === 0)) {
          // A partial batch waits for the flush timer.
          if (this.#queue.length > 0 && this.#timer === undefined) this.#armTimer();
          return;
        }
        this.#inflight = this.#takeBatch();
      }
      const batch = this.#inflight;
      const error = await this.#post(batch);
      if (this.#closed) return;
      if (error === undefined) {
        this.#counters.uploads += 1;
        this.#counters.delivered += batch.length;
        this.#inflight = undefined;
        retries = 0;
        this.#settle();
        continue;
      }
      this.#counters.failedUploads += 1;
      this.#counters.lastError = error;
      retries += 1;
      if (retries === 1 || retries % 10 === 0) this.#logger.warn({ url: this.destination, events: batch.length, retries }, `decision log: upload failed (${error}); retrying`);
      const wait = Math.min(backoffMs(this.#settings.minRetryMs, this.#settings.maxRetryMs, retries), Math.max(0, this.#deadline - Date.now()));
      await this.#sleep(wait);
    }
  }

  /** Sends the partial batch after `flushMs` (unref'd: a quiet log must not keep a process alive; close() holds it). */
  #armTimer(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#draining += 1;
      this.#kick();
      void this.#drained().then(() => (this.#draining -= 1));
    }, this.#settings.flushMs);
    this.#timer.unref();
  }

  /** Waits `ms` (unref'd: close() keeps the process up), or until the uploader gives up. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  /** The oldest events, up to maxEvents and maxBytes of JSON array. */
  #takeBatch(): string[] {
    let bytes = 1;
    let count = 0;
    while (count < this.#queue.length && count < this.#settings.maxEvents) {
      const size = Buffer.byteLength(this.#queue[count]!, "utf8") + 1;
      if (count > 0 && bytes + size > this.#settings.maxBytes) break;
      bytes += size;
      count += 1;
    }
    const batch = this.#queue.splice(0, count);
    this.#queueBytes -= bytes - 1;
    return batch;
  }

  /** One POST of `batch`; undefined when the service answered 2xx, else why not. */
  #post(batch: readonly string[]): Promise<string | undefined> {
    const { url, token, requestTimeoutMs } = this.#settings;
    const body = gzipSync(Buffer.from(`[${batch.join(",")}]`, "utf8"));
    const abort = new AbortController();
    this.#abort = abort;
    return new Promise((resolve) => {
      const headers: Record<string, string> = { "Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": String(body.length) };
      if (token !== undefined) headers["Authorization"] = `Bearer ${token}`;
      // No keep-alive agent: an idle pooled socket would hold the process after the last upload.
      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      const req = send(url, { method: "POST", headers, agent: false, signal: abort.signal, timeout: requestTimeoutMs }, (res: IncomingMessage) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? undefined : `HTTP ${res.statusCode ?? "?"}`));
        res.on("error", (err) => resolve(errorMessage(err)));
      });
      req.on("timeout", () => req.destroy(new Error(`no answer within ${requestTimeoutMs} ms`)));
      req.on("error", (err) => resolve(errorMessage(err)));
      req.end(body);
    }).finally(() => {
      if (this.#abort === abort) this.#abort = undefined;
    }) as Promise<string | undefined>;
  }

  #error(message: string): void {
    this.#counters.lastError = message;
    this.#logger.error({ url: this.destination }, `decision log: ${message}`);
  }
}
