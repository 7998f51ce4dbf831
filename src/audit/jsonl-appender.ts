import { closeSync, constants, fsyncSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { PolicyKernelError, errorMessage } from "../errors.js";
import { CREATE_NEW, isErrno } from "./atomic-write.js";

/** Pending bytes that trigger a write: one system call per few hundred audit entries. */
const FLUSH_BYTES = 64 * 1024;
/** Longest an appended line waits in memory when the writer goes quiet (a crash loses at most this much). */
const FLUSH_DELAY_MS = 200;

/**
 * Appends lines to a new file in large synchronous writes. The file is created exclusively
 * (an existing file, or a link, is refused, so an earlier log is never overwritten or mixed
 * into) and every line is on disk after `flush`, after at most FLUSH_DELAY_MS, or when the
 * process exits normally. A failed write keeps its bytes pending for the next attempt.
 */
export class JsonlAppender {
  readonly path: string;
  #fd: number | undefined;
  #pending: string[] = [];
  #pendingBytes = 0;
  /** Bytes of a write that failed part-way, written before any newer line. */
  #carry: Buffer | undefined;
  #written = 0;
  /** Pending bytes that trigger the next write; doubles after each failure so a dead disk is not retried per line. */
  #flushAt = FLUSH_BYTES;
  #timer: NodeJS.Timeout | undefined;
  /** Whether the folder's entry for the new file has been synced (once, at the first `sync`). */
  #folderSynced = false;
  readonly #onLateError: (error: unknown) => void;

  /** `onLateError` hears about a failed write nobody was waiting on (the quiet-time flush). */
  constructor(path: string, onLateError: (error: unknown) => void = () => undefined) {
    this.path = path;
    this.#onLateError = onLateError;
    try {
      this.#fd = openSync(path, CREATE_NEW | constants.O_APPEND, 0o666);
    } catch (error) {
      const message = isErrno(error, "EEXIST")
        ? "the file already exists; an audit log is only ever written to a new file"
        : `cannot create the file: ${errorMessage(error)}`;
      throw new PolicyKernelError("io_error", message, { file: path, expected: "a path where no file exists yet" }, { cause: error });
    }
    OPEN_APPENDERS.add(this);
  }

  /** Lines handed to the operating system so far. */
  get writtenLines(): number {
    return this.#written;
  }

  /** Lines appended but not yet written. */
  get pendingLines(): number {
    return this.#pending.length + (this.#carry ? countLines(this.#carry) : 0);
  }

  get closed(): boolean {
    return this.#fd === undefined;
  }

  /** Queues one line (it must end in "\n"); writes when enough is pending. Throws only what `flush` throws. */
  append(line: string): void {
    if (this.#fd === undefined) throw this.#closedError();
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= this.#flushAt) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#flushQuietly(), FLUSH_DELAY_MS);
      // A pending flush must not keep a finished program alive; the exit hook writes the rest.
      this.#timer.unref();
    }
  }

  /** Writes everything pending; PolicyKernelError "io_error" naming the file when the write fails (nothing is dropped). */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // Closed: close() flushed everything first (a failing flush leaves the file open), so nothing is pending.
    if (this.#fd === undefined) return;
    try {
      // The rest of a failed write first: it holds older lines.
      if (this.#carry) this.#write(this.#fd, this.#carry);
      if (this.#pending.length > 0) {
        const text = Buffer.from(this.#pending.join(""), "utf8");
        this.#pending = [];
        this.#pendingBytes = 0;
        this.#write(this.#fd, text);
      }
      this.#flushAt = FLUSH_BYTES;
    } catch (error) {
      this.#flushAt = Math.max(FLUSH_BYTES, 2 * this.#pendingBytes);
      throw new PolicyKernelError("io_error", `cannot append to the audit log: ${errorMessage(error)}`, { file: this.path }, { cause: error });
    }
  }

  /**
   * Writes everything pending and asks the disk to keep it (fsync; the first time also the
   * folder, so the new file's name survives a power cut too): every line appended so far is then
   * durable. PolicyKernelError "io_error" naming the file when the write or the sync fails.
   */
  sync(): void {
    this.flush();
    if (this.#fd === undefined) return;
    try {
      fsyncSync(this.#fd);
    } catch (error) {
      throw new PolicyKernelError("io_error", `cannot sync the audit log to disk: ${errorMessage(error)}`, { file: this.path }, { cause: error });
    }
    if (!this.#folderSynced) {
      syncFolder(dirname(this.path));
      this.#folderSynced = true;
    }
  }

  /** Writes all of `bytes`, or keeps what was not written as the carry and rethrows. */
  #write(fd: number, bytes: Buffer): void {
    let offset = 0;
    try {
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      this.#carry = undefined;
    } catch (error) {
      this.#carry = bytes.subarray(offset);
      throw error;
    } finally {
      this.#written += countLines(bytes.subarray(0, offset));
    }
  }

  /** Flushes and closes the file; closing twice is a no-op. Throws (and stays open) when the flush fails. */
  close(): void {
    if (this.#fd === undefined) return;
    this.flush();
    const fd = this.#fd;
    this.#fd = undefined;
    OPEN_APPENDERS.delete(this);
    closeSync(fd);
  }

  #flushQuietly(): void {
    this.#timer = undefined;
    try {
      this.flush();
    } catch (error) {
      // The bytes stay pending: the next append, flush or close retries them.
      this.#onLateError(error);
    }
  }

  #closedError(): PolicyKernelError {
    return new PolicyKernelError("io_error", "the audit log was closed; nothing more can be appended", { file: this.path });
  }
}

/** fsync of a folder, so a file created in it keeps its name after a power cut; some platforms cannot open a folder (best effort). */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // best effort: only durability of the name is lost
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function countLines(bytes: Buffer): number {
  let lines = 0;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) lines++;
  return lines;
}

// One exit hook for every open log (not one listener each): a program that ends without closing
// its recorder still gets its last lines written. A signal that kills the process skips it,
// which is what the FLUSH_DELAY_MS timer bounds.
const OPEN_APPENDERS = new Set<JsonlAppender>();
process.once("exit", () => {
  for (const appender of OPEN_APPENDERS) {
    try {
      appender.close();
    } catch {
      // Nothing left to report to at exit; the other logs still get written.
    }
  }
});
