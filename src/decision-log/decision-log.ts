import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { PolicyKernelError, errorMessage } from "../errors.js";
import type { KernelAuditEvent, KernelAuditSink } from "../kernel/audit-sink.js";
import { findPackageRoot } from "../kernel/defaults.js";
import { createLogger } from "../logging.js";
import { optionsError } from "../options.js";
import { assertNoJsonHazard } from "../safe-json.js";
import { ONCE } from "../schemas.js";
import { encodeDecisionLogEvent, uuidV8, type EventContext } from "./event.js";
import { HttpUploader, type UploadSettings } from "./http-uploader.js";
import { prepareMaskRules } from "./mask.js";
import { DecisionLogOptionsSchema, DecisionLogUploadSchema, type DecisionLogOptions } from "./options.js";

/** What became of the events of a decision log: `status()` while it runs, `close()` at the end. */
export interface DecisionLogReport {
  /** The file or URL (without credentials or query) the events go to. */
  readonly destination: string;
  /** Decisions turned into events. */
  readonly logged: number;
  /** Events written to the file, or acknowledged (2xx) by the service. */
  readonly delivered: number;
  /** Events buffered or in flight. */
  readonly pending: number;
  /** Events that will never be delivered: the sum of `lost`. */
  readonly undelivered: number;
  /** Why each undelivered event was not: nothing is dropped without being counted here (and logged). */
  readonly lost: {
    /** The buffer was full while the service was unreachable: the oldest events made room. */
    readonly bufferFull: number;
    /** One event larger than `upload.maxBytes`. */
    readonly tooLarge: number;
    /** Still unsent when `close` gave up (`upload.closeTimeoutMs`), the service down. */
    readonly atClose: number;
    /** A decision made after `close`. */
    readonly afterClose: number;
    /** The file write failed, or the decision could not be encoded. */
    readonly failed: number;
  };
  /** POSTs answered 2xx, and POSTs that failed (each retried). */
  readonly uploads: number;
  readonly failedUploads: number;
  /** The last failure, in words, or null. */
  readonly lastError: string | null;
}

/** Counters shared by the outputs. */
export interface LogCounters {
  delivered: number;
  bufferFull: number;
  tooLarge: number;
  atClose: number;
  afterClose: number;
  failed: number;
  uploads: number;
  failedUploads: number;
  lastError: string | null;
}

/** Where encoded events go: a file or a decision-log service. */
interface Output {
  readonly destination: string;
  write(line: string): void;
  pending(): number;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Reports every decision a kernel makes as an OPA decision-log event, to a file (JSON lines) or to
 * a decision-log service (OPA's upload protocol). It is a kernel audit sink: give it as the kernel
 * option `decisionLog` (or let the kernel make one from options). Deterministic: ids and
 * timestamps come from the seed and the decisions' logical time, never from the clock.
 * Made by {@link createDecisionLog}.
 */
export interface DecisionLog extends KernelAuditSink {
  /** What became of the events so far. */
  status(): DecisionLogReport;
  /** Sends what is buffered now; resolves when it is delivered (retrying) or the log is closed. */
  flush(): Promise<void>;
  /** Delivers what is left (retrying until `upload.closeTimeoutMs`), closes the output and reports; calling it again returns the same report. */
  close(): Promise<DecisionLogReport>;
}

class FileOrServiceLog implements DecisionLog {
  readonly #context: EventContext;
  readonly #output: Output;
  readonly #counters: LogCounters;
  readonly #logger: Pick<Logger, "error" | "warn">;
  #seq = 0;
  #closing: Promise<DecisionLogReport> | undefined;

  constructor(context: EventContext, output: Output, counters: LogCounters, logger: Pick<Logger, "error" | "warn">) {
    this.#context = context;
    this.#output = output;
    this.#counters = counters;
    this.#logger = logger;
  }

  /** Turns a `policy_check` event into a decision-log event and hands it to the output; other events are not decisions. */
  record(event: KernelAuditEvent): void {
    if (event.type !== "policy_check") return;
    this.#seq += 1;
    if (this.#closing) {
      this.#counters.afterClose += 1;
      this.#fail(`decision ${this.#seq} made after the decision log was closed; not logged`);
      return;
    }
    let line: string;
    try {
      line = encodeDecisionLogEvent(event, this.#seq, this.#context);
    } catch (error) {
      this.#counters.failed += 1;
      this.#fail(`decision ${this.#seq} could not be encoded: ${errorMessage(error)}`);
      return;
    }
    this.#output.write(line);
  }

  /** What became of the events so far. */
  status(): DecisionLogReport {
    const c = this.#counters;
    const lost = { bufferFull: c.bufferFull, tooLarge: c.tooLarge, atClose: c.atClose, afterClose: c.afterClose, failed: c.failed };
    return {
      destination: this.#output.destination,
      logged: this.#seq - c.afterClose,
      delivered: c.delivered,
      pending: this.#output.pending(),
      undelivered: Object.values(lost).reduce((a, b) => a + b, 0),
      lost,
      uploads: c.uploads,
      failedUploads: c.failedUploads,
      lastError: c.lastError,
    };
  }

  /** Sends what is buffered now; resolves when it is delivered (retrying) or the log is closed. */
  flush(): Promise<void> {
    return this.#output.flush();
  }

  /** Delivers what is left (retrying until `upload.closeTimeoutMs`), closes the output and reports; calling it again returns the same report. */
  close(): Promise<DecisionLogReport> {
    this.#closing ??= this.#output.close().then(() => {
      const report = this.status();
      if (report.undelivered > 0) this.#logger.error({ decisionLog: report }, `decision log: ${report.undelivered} of ${report.logged} events not delivered to ${report.destination}`);
      return report;
    });
    return this.#closing;
  }

  #fail(message: string): void {
    this.#counters.lastError = message;
    this.#logger.error({ destination: this.#output.destination }, `decision log: ${message}`);
  }
}

/** Whether `value` is a {@link DecisionLog} (the kernel option takes one, or options to make one). */
export function isDecisionLog(value: unknown): value is DecisionLog {
  return value instanceof FileOrServiceLog;
}

/** Makes a decision log from options (checked; a bad one is a PolicyKernelError naming the field); opens its file now. */
export function createDecisionLog(options: DecisionLogOptions, settings: { readonly logger?: Logger; readonly field?: string } = {}): DecisionLog {
  const field = settings.field ?? "decisionLog";
  assertNoJsonHazard(options, "invalid_config", { root: field });
  const parsed = DecisionLogOptionsSchema.safeParse(options, ONCE);
  if (!parsed.success) throw optionsError(parsed.error, field, { "": Object.keys(DecisionLogOptionsSchema.shape), upload: Object.keys(DecisionLogUploadSchema.shape) });
  const opts = parsed.data;
  const logger = settings.logger ?? createLogger({ name: "policy-kernel" });
  const seed = opts.seed ?? "policy-kernel";
  const context: EventContext = {
    labels: { id: uuidV8(createHash("sha256").update(`labels.id\0${seed}`).digest("hex")), version: packageVersion(), ...opts.labels },
    path: opts.path ?? "policy_kernel/decision",
    bundleName: opts.bundleName ?? "policy_kernel",
    seed,
    mask: prepareMaskRules(opts.mask ?? [], `${field}.mask`),
  };
  const counters: LogCounters = { delivered: 0, bufferFull: 0, tooLarge: 0, atClose: 0, afterClose: 0, failed: 0, uploads: 0, failedUploads: 0, lastError: null };
  const output = opts.url !== undefined ? httpOutput(opts.url, opts, counters, logger, field) : fileOutput(opts.file!, counters, logger, field);
  return new FileOrServiceLog(context, output, counters, logger);
}

function httpOutput(raw: string, opts: ReturnType<typeof DecisionLogOptionsSchema.parse>, counters: LogCounters, logger: Pick<Logger, "error" | "warn">, field: string): Output {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PolicyKernelError("invalid_config", `not a URL: ${JSON.stringify(raw)}`, { field: `${field}.url`, expected: "http://host:port/logs or https://..." });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new PolicyKernelError("invalid_config", `a decision-log service is reached over http or https, not ${url.protocol}`, { field: `${field}.url`, expected: "http://host:port/logs or https://..." });
  }
  if (url.username !== "" || url.password !== "") {
    throw new PolicyKernelError("invalid_config", "credentials in the URL would be logged with it; give the bearer token as `token`", { field: `${field}.url` });
  }
  const u = opts.upload ?? {};
  const settings: UploadSettings = {
    url,
    token: opts.token,
    maxEvents: u.maxEvents ?? 1000,
    maxBytes: u.maxBytes ?? 1024 * 1024,
    flushMs: u.flushMs ?? 1000,
    minRetryMs: u.minRetryMs ?? 100,
    maxRetryMs: Math.max(u.maxRetryMs ?? 10_000, u.minRetryMs ?? 100),
    maxBufferedEvents: u.maxBufferedEvents ?? 10_000,
    closeTimeoutMs: u.closeTimeoutMs ?? 10_000,
    requestTimeoutMs: u.requestTimeoutMs ?? 10_000,
  };
  return new HttpUploader(settings, counters, logger);
}

function fileOutput(path: string, counters: LogCounters, logger: Pick<Logger, "error" | "warn">, field: string): Output {
  // Appended to, as a log a shipper tails; never a folder, FIFO or socket (opening a FIFO would block).
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat && !stat.isFile() && !stat.isCharacterDevice()) {
    throw new PolicyKernelError("io_error", `not a file (${stat.isDirectory() ? "a folder" : "a FIFO, socket or device"}); name a file to append decision-log events to`, { file: path, field: `${field}.file` });
  }
  let fd: number | undefined;
  try {
    fd = openSync(path, "a", 0o644);
  } catch (error) {
    throw new PolicyKernelError("io_error", `cannot open the decision log for appending: ${errorMessage(error)}`, { file: path, field: `${field}.file` }, { cause: error });
  }
  // Lines wait in memory for one large write (as the trail's appender): at 64 KiB, after 200 ms, on
  // flush and close, and at process exit, so a write per decision does not sit on the decision path.
  let pending: string[] = [];
  let pendingBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const writeOut = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0 || fd === undefined) return;
    const lines = pending;
    pending = [];
    pendingBytes = 0;
    const bytes = Buffer.from(lines.join(""), "utf8");
    try {
      // A partial write is finished before anything else is written: lines are never interleaved.
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      counters.delivered += lines.length;
    } catch (error) {
      counters.failed += lines.length;
      counters.lastError = `cannot write to ${path}: ${errorMessage(error)}`;
      logger.error({ file: path, events: lines.length }, `decision log: ${counters.lastError}`);
    }
  };
  OPEN_FILES.add(writeOut);
  if (OPEN_FILES.size === 1) process.on("exit", writeAllOnExit);
  return {
    destination: path,
    write(line: string): void {
      if (fd === undefined) return;
      pending.push(`${line}\n`);
      pendingBytes += line.length + 1;
      if (pendingBytes >= FILE_FLUSH_BYTES) writeOut();
      else if (timer === undefined) {
        timer = setTimeout(writeOut, FILE_FLUSH_MS);
        timer.unref();
      }
    },
    pending: () => pending.length,
    flush(): Promise<void> {
      writeOut();
      return Promise.resolve();
    },
    close(): Promise<void> {
      writeOut();
      OPEN_FILES.delete(writeOut);
      if (OPEN_FILES.size === 0) process.off("exit", writeAllOnExit);
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      return Promise.resolve();
    },
  };
}

/** The pending-line writers of open decision-log files: one exit listener for all (not one each, which Node warns about past ten). */
const OPEN_FILES = new Set<() => void>();

function writeAllOnExit(): void {
  for (const writeOut of OPEN_FILES) writeOut();
}

/** Pending bytes of a decision-log file that trigger a write. */
const FILE_FLUSH_BYTES = 64 * 1024;
/** Longest a line waits in memory when decisions go quiet. */
const FILE_FLUSH_MS = 200;

let version: string | undefined;

/** The package's version, for `labels.version` (OPA puts its own there). */
function packageVersion(): string {
  if (version === undefined) {
    try {
      const manifest = JSON.parse(readFileSync(join(findPackageRoot(), "package.json"), "utf8")) as { version?: unknown };
      version = typeof manifest.version === "string" ? manifest.version : "unknown";
    } catch {
      version = "unknown";
    }
  }
  return version;
}
