// Delivery to a decision-log service, OPA's protocol, against a real Node HTTP server: gzip JSON
// array batches, split by count and size; a failing service retried until it takes the batch, with
// nothing lost and nothing sent twice; a service down at close reported, never silently dropped.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { createDecisionLog, type DecisionLogReport } from "../../src/decision-log/decision-log.js";
import { DecisionLogEventSchema, type DecisionLogEvent } from "../../src/decision-log/event.js";
import { backoffMs } from "../../src/decision-log/http-uploader.js";
import type { DecisionLogOptions } from "../../src/decision-log/options.js";
import { isPolicyKernelError } from "../../src/errors.js";

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly events: DecisionLogEvent[];
  readonly status: number;
}

/** A decision-log service: answers each POST with the next status of `statuses` (then 200), keeps what it took. */
class Service {
  readonly received: Received[] = [];
  #server: Server;
  #statuses: number[];
  constructor(statuses: number[] = []) {
    this.#statuses = [...statuses];
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const status = this.#statuses.shift() ?? 200;
        const events = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString("utf8")) as DecisionLogEvent[];
        this.received.push({ headers: req.headers, events, status });
        res.statusCode = status;
        res.end();
      });
    });
  }
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as { port: number }).port}/logs`;
  }
  /** Events the service kept (answered 2xx), in arrival order. */
  get taken(): DecisionLogEvent[] {
    return this.received.filter((r) => r.status < 300).flatMap((r) => r.events);
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const services: Service[] = [];
const kernels: PolicyKernel[] = [];
afterEach(async () => {
  for (const k of kernels.splice(0)) k.close();
  for (const s of services.splice(0)) await s.stop();
});

async function service(statuses?: number[]): Promise<{ svc: Service; url: string }> {
  const svc = new Service(statuses);
  services.push(svc);
  return { svc, url: await svc.start() };
}

/** A default kernel whose decisions go to `log`. */
async function kernelWith(decisionLog: DecisionLogOptions): Promise<PolicyKernel> {
  const kernel = await createPolicyKernel({ decisionLog });
  kernels.push(kernel);
  return kernel;
}

/** `n` decisions, one minute apart in logical time, a DELETE without WHERE every third. */
async function decide(kernel: PolicyKernel, n: number): Promise<boolean[]> {
  const allowed: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const sql = i % 3 === 0 ? "DELETE FROM users" : `SELECT name FROM users WHERE id = ${i}`;
    const decision = await kernel.evaluate({ agentId: `agent-${i % 2}`, action: { type: "sql", sql }, context: { now: new Date(Date.UTC(2026, 10, 21, 10, i)).toISOString() } });
    allowed.push(decision.allowed);
  }
  return allowed;
}

const FAST = { minRetryMs: 5, maxRetryMs: 20, flushMs: 50, closeTimeoutMs: 2000 };

let reference: DecisionLogEvent[];
beforeAll(async () => {
  // The events the same decisions make in a file: what the service must receive, exactly.
  const { mkdtempSync, readFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const file = join(mkdtempSync(join(tmpdir(), "pk-dl-ref-")), "ref.jsonl");
  const kernel = await createPolicyKernel({ decisionLog: { file, seed: "http" } });
  await decide(kernel, 25);
  await kernel.decisionLog!.close();
  kernel.close();
  reference = readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line) as DecisionLogEvent);
});

describe("decision logs to an HTTP service (OPA's upload protocol)", () => {
  it("POSTs gzip JSON arrays in batches of upload.maxEvents, in order, each event as the file has it", async () => {
    const { svc, url } = await service();
    const kernel = await kernelWith({ url, seed: "http", upload: { ...FAST, maxEvents: 10, flushMs: 60_000 } });
    const allowed = await decide(kernel, 25);
    const report = await kernel.decisionLog!.close();
    expect(svc.received.map((r) => r.events.length)).toEqual([10, 10, 5]);
    for (const r of svc.received) {
      expect(r.headers["content-encoding"]).toBe("gzip");
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.headers["authorization"]).toBeUndefined();
    }
    expect(svc.taken).toEqual(reference);
    for (const event of svc.taken) expect(DecisionLogEventSchema.safeParse(event).success).toBe(true);
    expect(svc.taken.map((e) => (e.result as { allowed: boolean }).allowed)).toEqual(allowed);
    expect(report).toMatchObject({ logged: 25, delivered: 25, pending: 0, undelivered: 0, uploads: 3, failedUploads: 0, lastError: null });
  });

  it("splits batches by upload.maxBytes; an event larger than it is reported, not sent", async () => {
    const { svc, url } = await service();
    const size = Buffer.byteLength(JSON.stringify(reference[0]));
    const kernel = await kernelWith({ url, seed: "http", upload: { ...FAST, maxBytes: size * 3 } });
    await decide(kernel, 25);
    await kernel.decisionLog!.close();
    for (const r of svc.received) expect(Buffer.byteLength(JSON.stringify(r.events))).toBeLessThanOrEqual(size * 3);
    expect(svc.received.length).toBeGreaterThan(8);
    expect(svc.taken).toEqual(reference);

    const { svc: small, url: smallUrl } = await service();
    const tiny = await kernelWith({ url: smallUrl, upload: { ...FAST, maxBytes: 200 } });
    await decide(tiny, 3);
    const report = await tiny.decisionLog!.close();
    expect(small.received).toEqual([]);
    expect(report).toMatchObject({ logged: 3, delivered: 0, undelivered: 3, lost: { tooLarge: 3 } });
    expect(report.lastError).toContain("larger than upload.maxBytes (200)");
  });

  it("a partial batch goes after upload.flushMs without a flush; a bearer token is sent", async () => {
    const { svc, url } = await service();
    const kernel = await kernelWith({ url, token: "s3cret", upload: { ...FAST, flushMs: 30 } });
    await decide(kernel, 2);
    for (let i = 0; i < 100 && svc.taken.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(svc.taken.length).toBe(2);
    expect(svc.received[0]!.headers["authorization"]).toBe("Bearer s3cret");
    expect(kernel.decisionLog!.status()).toMatchObject({ delivered: 2, pending: 0 });
  });

  it("a service answering 500, 503 then 200 gets every event once, in order, after retries", async () => {
    const { svc, url } = await service([500, 503, 500]);
    const kernel = await kernelWith({ url, seed: "http", upload: { ...FAST, maxEvents: 10 } });
    await decide(kernel, 25);
    const report = await kernel.decisionLog!.close();
    expect(svc.received.filter((r) => r.status >= 500).length).toBe(3);
    expect(svc.taken).toEqual(reference);
    expect(new Set(svc.taken.map((e) => e.decision_id)).size).toBe(25);
    expect(report).toMatchObject({ logged: 25, delivered: 25, undelivered: 0, failedUploads: 3 });
    expect(report.lastError).toBe("HTTP 500");
  });

  it("a service down at close: close gives up after closeTimeoutMs and reports every event undelivered", async () => {
    const { svc, url } = await service();
    await svc.stop();
    services.splice(services.indexOf(svc), 1);
    const kernel = await kernelWith({ url, upload: { ...FAST, closeTimeoutMs: 300 } });
    await decide(kernel, 7);
    const started = Date.now();
    const report: DecisionLogReport = await kernel.decisionLog!.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(report).toMatchObject({ logged: 7, delivered: 0, pending: 0, undelivered: 7, lost: { atClose: 7, bufferFull: 0 } });
    expect(report.failedUploads).toBeGreaterThan(0);
    expect(report.lastError).toMatch(/ECONNREFUSED/);
    // Decided after the close: counted too.
    await kernel.evaluate({ agentId: "late", action: { type: "sql", sql: "SELECT 1" } });
    expect(kernel.decisionLog!.status()).toMatchObject({ undelivered: 8, lost: { afterClose: 1 } });
  });

  it("the buffer is bounded: the oldest events make room, counted; what the service takes later is the newest", async () => {
    const { svc, url } = await service(Array.from({ length: 1000 }, () => 500));
    const log = createDecisionLog({ url, seed: "http", upload: { ...FAST, maxEvents: 2, maxBufferedEvents: 5, closeTimeoutMs: 200 } });
    const kernel = await createPolicyKernel({ decisionLog: log });
    kernels.push(kernel);
    await decide(kernel, 25);
    const report = await log.close();
    // 2 in the failing POST, 5 buffered, the 18 oldest of the rest dropped: all 25 accounted for.
    expect(report.logged).toBe(25);
    expect(report.delivered).toBe(0);
    expect(report.lost.bufferFull + report.lost.atClose).toBe(25);
    expect(report.lost.bufferFull).toBeGreaterThanOrEqual(18);
    expect(svc.taken).toEqual([]);
  });

  it("one log shared by two kernels: one sequence of ids, closed by its owner only", async () => {
    const { svc, url } = await service();
    const log = createDecisionLog({ url, seed: "shared", upload: FAST });
    const a = await createPolicyKernel({ decisionLog: log });
    const b = await createPolicyKernel({ decisionLog: log });
    await decide(a, 2);
    a.close();
    await decide(b, 2);
    b.close();
    expect(log.status().undelivered).toBe(0);
    await log.close();
    expect(svc.taken.map((e) => e.req_id)).toEqual([1, 2, 3, 4]);
  });

  it("OPA's backoff: 100 ms x1.6 per retry with 20% jitter, capped", () => {
    for (let retries = 1; retries < 20; retries++) {
      const nominal = Math.min(100 * 1.6 ** retries, 10_000);
      const delay = backoffMs(100, 10_000, retries);
      expect(delay).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8));
      expect(delay).toBeLessThanOrEqual(Math.ceil(nominal * 1.2));
    }
  });

  it("refuses a URL that is not http(s), carries credentials, or is not a URL", () => {
    for (const [url, words] of [
      ["ftp://example.com/logs", "not ftp:"],
      ["http://user:pw@example.com/logs", "credentials in the URL"],
      ["not a url", "not a URL"],
      ["file:///etc/passwd", "not file:"],
    ] as const) {
      let error: unknown;
      try {
        createDecisionLog({ url });
      } catch (caught) {
        error = caught;
      }
      expect(isPolicyKernelError(error, "invalid_config"), url).toBe(true);
      expect((error as Error).message).toContain(words);
      expect((error as Error).message).toContain("decisionLog.url");
    }
  });
});
