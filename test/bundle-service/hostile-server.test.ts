import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { createGzip } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { downloadBundle, LONG_POLL_CONTENT_TYPE, type DownloadRequest } from "../../src/bundle-service/download.js";
import type { BundleStatus } from "../../src/bundle-service/config.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { revision } from "../helpers/bundle-revisions.js";
import { tarGzOf, tarHeader } from "../helpers/tar-writer.js";
import { entriesOf, makeKey, opaSignedBundle, writeText } from "../helpers/signed-bundles.js";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * What nginx cannot do: hold long polls, and misbehave on purpose. A small Node HTTP server (a real
 * server on a loopback port, real sockets) plays a bundle service that does both.
 */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("no address");
  return `http://127.0.0.1:${address.port}/bundle.tar.gz`;
}

function request(url: string, more: Partial<DownloadRequest> = {}): DownloadRequest {
  return { url, maxBytes: 1 << 20, headerTimeoutMs: 2000, bodyIdleTimeoutMs: 2000, ...more };
}

function statusOf(kernel: PolicyKernel): BundleStatus {
  return kernel.bundleStatus!()[0]!;
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("long polling (OPA's Prefer: wait=N and application/vnd.openpolicyagent.bundles)", () => {
  it("holds each poll open on the server and activates a new revision the moment it is answered", async () => {
    let current = revision("long-1", 100);
    const seen: { prefer: string | undefined; ifNoneMatch: string | undefined }[] = [];
    const held: ServerResponse[] = [];
    const url = await serve((req, res) => {
      seen.push({ prefer: req.headers.prefer as string | undefined, ifNoneMatch: req.headers["if-none-match"] });
      if (req.headers["if-none-match"] === `"${current.sha256}"`) held.push(res);
      else res.writeHead(200, { "content-type": LONG_POLL_CONTENT_TYPE, etag: `"${current.sha256}"` }).end(current.bytes);
    });
    // Polls would come 60 to 120 s apart: only the long poll can bring a revision within this test.
    const kernel = await createPolicyKernel({ bundle: url, bundleService: { longPollingTimeoutSeconds: 30 } });
    try {
      expect(kernel.provenance.bundleRevision).toBe("long-1");
      expect(statusOf(kernel).long_polling).toBe(true);
      // The first request never waits: it builds the kernel.
      expect(seen[0]).toEqual({ prefer: "modes=snapshot", ifNoneMatch: undefined });
      await until("the first long poll", () => held.length === 1);
      expect(seen[1]).toEqual({ prefer: "modes=snapshot;wait=30", ifNoneMatch: `"${current.sha256}"` });

      // The wait runs out: 304, and the next long poll follows at once.
      held.shift()!.writeHead(304).end();
      await until("the second long poll", () => held.length === 1);
      expect(statusOf(kernel)).toMatchObject({ active_revision: "long-1", activations: 1, long_polling: true });

      current = revision("long-2", 10);
      const published = performance.now();
      held.shift()!.writeHead(200, { "content-type": LONG_POLL_CONTENT_TYPE, etag: `"${current.sha256}"` }).end(current.bytes);
      await until("long-2 active", () => statusOf(kernel).active_revision === "long-2");
      const swapMs = performance.now() - published;
      expect(kernel.provenance.bundleRevision).toBe("long-2");
      await until("the next long poll", () => held.length === 1);
      console.info(`long poll: new revision active ${swapMs.toFixed(0)} ms after the server answered`);
      expect(swapMs).toBeLessThan(5000);
    } finally {
      kernel.close();
    }
  });

  it("falls back to polling when the server answers with a plain content type", async () => {
    const rev = revision("plain-1", 100);
    let requests = 0;
    const url = await serve((_req, res) => {
      requests++;
      res.writeHead(200, { "content-type": "application/gzip" }).end(rev.bytes);
    });
    const kernel = await createPolicyKernel({ bundle: url, bundleService: { longPollingTimeoutSeconds: 30, minDelaySeconds: 60 } });
    try {
      expect(statusOf(kernel).long_polling).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(requests).toBe(1);
    } finally {
      kernel.close();
    }
  });
});

describe("a hostile bundle server", () => {
  it("refuses a declared Content-Length over the cap without reading the body", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(10 * 1024 ** 3) });
      res.write(Buffer.alloc(1024));
    });
    await expect(downloadBundle(request(url))).rejects.toThrow(`the server sent ${10 * 1024 ** 3} bytes (Content-Length), more than ${1 << 20}`);
  });

  it("cuts off an endless body at the cap, never buffering more", async () => {
    let written = 0;
    let stopped = false;
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/gzip" });
      const chunk = randomBytes(64 * 1024);
      const pump = (): void => {
        while (!stopped && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
      };
      res.once("close", () => (stopped = true));
      pump();
    });
    await expect(downloadBundle(request(url))).rejects.toThrow(`more than ${1 << 20} bytes`);
    await until("the server to see the connection close", () => stopped);
    // What the server got out before the client hung up: the cap plus what socket buffers held.
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });

  it("gives up on a body that stalls, and on a server that never answers", async () => {
    const stalled = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/gzip" });
      res.write(Buffer.alloc(100));
    });
    await expect(downloadBundle(request(stalled, { bodyIdleTimeoutMs: 300 }))).rejects.toThrow("the body stalled: no byte for 0.3 s after 100 bytes");
    const silent = await serve(() => undefined);
    await expect(downloadBundle(request(silent, { headerTimeoutMs: 300 }))).rejects.toThrow("no response within 0.3 s");
    // As a kernel's first load: a load error, no kernel.
    await expect(createPolicyKernel({ bundle: silent, bundleService: { responseHeaderTimeoutSeconds: 0.3 } })).rejects.toThrow("no response within 0.3 s");
  });

  it("refuses a body cut short", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "1000" });
      res.write(Buffer.alloc(500), () => res.socket?.destroy());
    });
    await expect(downloadBundle(request(url))).rejects.toThrow(/closed after 500 bytes|request failed/);
  });

  it("refuses a gzip bomb at the decompressed cap", async () => {
    // A tar entry declaring 32 MiB of zeros, gzip-compressed to a few dozen KiB.
    const size = 32 * 1024 * 1024;
    const gzip = createGzip({ level: 9 });
    const parts: Buffer[] = [];
    gzip.on("data", (part: Buffer) => parts.push(part));
    const done = new Promise((resolve) => gzip.on("end", resolve));
    gzip.write(tarHeader({ path: "data.json" }, size));
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < size / zeros.length; i++) gzip.write(zeros);
    gzip.end();
    await done;
    const bomb = Buffer.concat(parts);
    expect(bomb.length).toBeLessThan(256 * 1024);
    const url = await serve((_req, res) => res.writeHead(200, { "content-type": "application/gzip" }).end(bomb));
    await expect(createPolicyKernel({ bundle: url, bundleLimits: { maxBytes: 8 * 1024 * 1024 } })).rejects.toThrow("archive decompresses to more than 8388608 bytes");
  });

  it("refuses a body the server compressed again unasked (Content-Encoding)", async () => {
    const rev = revision("enc-1", 100);
    const url = await serve((req, res) => {
      expect(req.headers["accept-encoding"]).toBe("identity");
      res.writeHead(200, { "content-encoding": "gzip" }).end(rev.bytes);
    });
    await expect(createPolicyKernel({ bundle: url })).rejects.toThrow("server sent Content-Encoding gzip, which was not asked for");
  });

  it("follows at most 10 redirects, only to http(s)", async () => {
    let hops = 0;
    const loop = await serve((req, res) => {
      hops++;
      res.writeHead(302, { location: `/again${req.url}` }).end();
    });
    await expect(downloadBundle(request(loop))).rejects.toThrow("stopped after 10 redirects");
    expect(hops).toBe(11);
    const toFile = await serve((_req, res) => res.writeHead(301, { location: "file:///etc/passwd" }).end());
    await expect(downloadBundle(request(toFile))).rejects.toThrow("redirected to a file: URL");
  });

  it("sends the token on a redirect to the same host, never to another", async () => {
    const rev = revision("redir-1", 100);
    const auth: (string | undefined)[] = [];
    const other = await serve((req, res) => {
      auth.push(req.headers.authorization);
      res.writeHead(200).end(rev.bytes);
    });
    const same = await serve((req, res) => {
      auth.push(req.headers.authorization);
      if (req.url === "/bundle.tar.gz") res.writeHead(307, { location: "/elsewhere.tar.gz" }).end();
      else if (req.url === "/elsewhere.tar.gz") res.writeHead(302, { location: other }).end();
    });
    const result = await downloadBundle(request(same, { token: "t0k" }));
    expect(result.status).toBe("ok");
    expect(auth).toEqual(["Bearer t0k", "Bearer t0k", undefined]);
  });

  it("reports a server that starts failing in the status, with the HTTP code, and keeps deciding", async () => {
    const rev = revision("flaky-1", 100);
    let fail = false;
    const url = await serve((_req, res) => {
      if (fail) res.writeHead(503).end("maintenance");
      else res.writeHead(200).end(rev.bytes);
    });
    const statuses: BundleStatus[][] = [];
    const kernel = await createPolicyKernel({ bundle: url, bundleService: { onStatus: (all) => statuses.push([...all]) } });
    try {
      fail = true;
      await kernel.refreshBundles!();
      expect(statusOf(kernel)).toMatchObject({ code: "bundle_error", http_code: "503", message: expect.stringContaining("503 Service Unavailable"), active_revision: "flaky-1" });
      expect(statuses.at(-1)?.[0]?.http_code).toBe("503");
      expect(statuses[0]?.[0]).toMatchObject({ active_revision: "flaky-1", activations: 1 });
    } finally {
      kernel.close();
    }
  });
});

describe("several served bundles", () => {
  it("polls each URL on its own and rebuilds from the newest of each", async () => {
    const files = new Map([
      ["/a.tar.gz", revision("a-1", 100)],
      ["/b.tar.gz", revision("b-1", 100)],
    ]);
    const origin = (await serve((req, res) => {
      const rev = files.get(req.url ?? "");
      if (rev) res.writeHead(200).end(rev.bytes);
      else res.writeHead(404).end();
    })).replace("/bundle.tar.gz", "");
    const kernel = await createPolicyKernel({ bundle: `${origin}/a.tar.gz`, opa: [{ bundle: `${origin}/b.tar.gz`, entrypoints: ["kernel/violations"] }], rules: false });
    try {
      expect(kernel.provenance.bundleRevision).toBe("a-1+b-1");
      files.set("/b.tar.gz", revision("b-2", 100));
      const statuses = await kernel.refreshBundles!();
      expect(statuses.map((s) => [s.name, s.active_revision, s.activations])).toEqual([
        [`${origin}/a.tar.gz`, "a-1", 1],
        [`${origin}/b.tar.gz`, "b-2", 2],
      ]);
      expect((await kernel.evaluate({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } })).provenance.bundleRevision).toBe("a-1+b-2");
      files.delete("/a.tar.gz");
      const [a, b] = await kernel.refreshBundles!();
      expect(a).toMatchObject({ http_code: "404", active_revision: "a-1" });
      expect(b!.code).toBeUndefined();
    } finally {
      kernel.close();
    }
  });
});

describe("signed bundles from a bundle service", () => {
  it("verifies each downloaded revision with the key: a tampered one is kept out and reported, a signed one swapped in", async () => {
    const work = mkdtempSync(join(tmpdir(), "pk-served-signed-"));
    const key = makeKey("ES256");
    const signedRevision = (name: string, limit: number): Uint8Array => {
      const src = join(work, name);
      writeText(src, "x.rego", "package x\n\nallow if input.amount <= data.limit\n");
      writeText(src, "data.json", JSON.stringify({ limit }));
      return readFileSync(opaSignedBundle(work, name, src, key));
    };
    let served = signedRevision("s1", 10);
    const url = await serve((_req, res) => res.writeHead(200).end(served));
    const kernel = await createPolicyKernel({ opa: [{ bundle: url, entrypoints: ["x/allow"], verification: { key: key.verification, alg: "ES256" } }], rawInput: true });
    try {
      const decide = () => kernel.evaluateInput!({ amount: 50 });
      expect(await decide()).toMatchObject({ allowed: false, provenance: { bundleRevision: "s1" } });
      // s2 allows 100, but its data.json is altered after signing: refused, s1 keeps deciding.
      const s2 = signedRevision("s2", 100);
      served = tarGzOf(entriesOf(s2).map((e) => (e.path.endsWith("/data.json") ? { ...e, bytes: '{"limit": 1000}' } : e)));
      await kernel.refreshBundles!();
      expect(statusOf(kernel)).toMatchObject({ code: "bundle_error", active_revision: "s1", message: expect.stringContaining("digest mismatch") });
      expect(await decide()).toMatchObject({ allowed: false, provenance: { bundleRevision: "s1" } });
      served = s2;
      await kernel.refreshBundles!();
      expect(statusOf(kernel)).toMatchObject({ active_revision: "s2" });
      expect(await decide()).toMatchObject({ allowed: true, provenance: { bundleRevision: "s2" } });
    } finally {
      kernel.close();
    }
  });
});

describe("a decision log across revisions", () => {
  it("writes every revision's decisions to one log, each event naming its revision, delivered once at close", async () => {
    let current = revision("log-1", 100);
    const url = await serve((_req, res) => res.writeHead(200).end(current.bytes));
    const file = join(mkdtempSync(join(tmpdir(), "pk-served-log-")), "decisions.jsonl");
    const kernel = await createPolicyKernel({ bundle: url, decisionLog: { file } });
    const action = { agentId: "a1", action: { type: "tool_call", tool: "search", args: {} } };
    await kernel.evaluate(action);
    current = revision("log-2", 10);
    await kernel.refreshBundles!();
    await kernel.evaluate(action);
    kernel.close();
    const report = await kernel.decisionLog!.close();
    const events = readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { bundles: { policy_kernel: { revision: string } } });
    expect(events.map((e) => e.bundles.policy_kernel.revision)).toEqual(["log-1", "log-2"]);
    expect(report).toMatchObject({ undelivered: 0 });
  });
});
