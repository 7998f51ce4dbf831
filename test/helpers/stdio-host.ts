// A client of the real `policy-kernel serve --stdio` (dist/, built first): spawns the host as a child
// process, sends request lines, reads reply lines in order, and waits for its exit.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
/** The built CLI the host runs from. */
export const CLI = join(root, "dist", "src", "cli", "main.js");

/** A reply line, parsed. */
export interface Reply {
  readonly id: number | string | null;
  readonly ok: boolean;
  readonly result?: Record<string, unknown> & { [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly error?: { readonly code: string; readonly message: string; readonly field?: string; readonly expected?: string };
}

/** A running host. */
export class HostProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ready: Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every stdout line so far, raw. */
  readonly lines: string[] = [];
  stderr = "";
  #buffer = "";
  #waiters: Array<(line: string) => void> = [];
  #queued: string[] = [];
  #next = 1;

  constructor(args: readonly string[] = []) {
    this.child = spawn(process.execPath, [CLI, "serve", ...args], { cwd: root });
    this.child.stderr.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.child.stdout.setEncoding("utf8").on("data", (chunk: string) => this.#take(chunk));
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve({ code, signal })));
    // EPIPE when a test writes to a host that already exited: the exit is what the test checks.
    this.child.stdin.on("error", () => undefined);
    this.ready = this.nextLine().then((line) => JSON.parse(line) as Record<string, unknown>);
  }

  #take(chunk: string): void {
    this.#buffer += chunk;
    for (let nl = this.#buffer.indexOf("\n"); nl !== -1; nl = this.#buffer.indexOf("\n")) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      this.lines.push(line);
      const waiter = this.#waiters.shift();
      if (waiter) waiter(line);
      else this.#queued.push(line);
    }
  }

  /** The next stdout line. */
  nextLine(): Promise<string> {
    const line = this.#queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      this.#waiters.push(resolve);
      void this.exited.then(() => setTimeout(() => reject(new Error(`host exited before replying; stderr: ${this.stderr}`)), 50));
    });
  }

  /** Writes one raw line (a newline is added) and reads the reply. */
  async raw(text: string): Promise<Reply> {
    this.child.stdin.write(`${text}\n`);
    return JSON.parse(await this.nextLine()) as Reply;
  }

  /** Sends `{id, op, ...params}` and reads its reply. */
  request(op: string, params: Record<string, unknown> = {}): Promise<Reply> {
    return this.raw(JSON.stringify({ id: this.#next++, op, ...params }));
  }

  /** Sends op and returns its result; throws with the error when the reply is not ok. */
  async ok(op: string, params: Record<string, unknown> = {}): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const reply = await this.request(op, params);
    if (!reply.ok) throw new Error(`${op} failed: ${JSON.stringify(reply.error)}`);
    return reply.result;
  }

  /** Closes stdin and waits for the exit. */
  async end(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.stdin.end();
    return this.exited;
  }
}

/** Starts a host and waits for its ready line. */
export async function startHost(args: readonly string[] = ["--stdio"]): Promise<HostProcess> {
  const host = new HostProcess(args);
  await host.ready;
  return host;
}
