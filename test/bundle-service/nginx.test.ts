import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { downloadBundle } from "../../src/bundle-service/download.js";
import type { BundleStatus } from "../../src/bundle-service/config.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { hasNginx, startNginx, type NginxServer } from "../helpers/nginx.js";
import { COSTLY_ACTION, publish, revision, type Revision } from "../helpers/bundle-revisions.js";

/**
 * The bundle service client against a real HTTP server a bundle service would be: Debian's nginx
 * (scripts/ensure-nginx.sh), serving bundle files from a temp folder with its own ETags, started
 * here as a foreground child process on a loopback port and stopped after.
 */
const root = mkdtempSync(join(tmpdir(), "pk-served-"));
mkdirSync(join(root, "secure"));
let server: NginxServer;

beforeAll(async () => {
  if (hasNginx) server = await startNginx(root, "s3cret-token");
});
afterAll(async () => {
  await server?.stop();
});

function status(kernel: PolicyKernel): BundleStatus {
  const all = kernel.bundleStatus?.();
  expect(all).toHaveLength(1);
  return all![0]!;
}

async function refresh(kernel: PolicyKernel): Promise<BundleStatus> {
  await kernel.refreshBundles!();
  return status(kernel);
}

describe.skipIf(!hasNginx)("a bundle served by nginx", () => {
  it("keeps the active revision on 304 (nginx's own ETag as If-None-Match) and swaps on a new one", async () => {
    const first = revision("etag-1", 100);
    publish(root, "etag.tar.gz", first.bytes);
    const url = `${server.origin}/etag.tar.gz`;
    const served = await fetch(url, { method: "HEAD" });
    const kernel = await createPolicyKernel({ bundle: url });
    try {
      const loaded = status(kernel);
      expect(loaded).toMatchObject({ name: url, active_revision: "etag-1", active_sha256: first.sha256, etag: served.headers.get("etag"), activations: 1, size: first.bytes.length });
      expect(kernel.provenance).toMatchObject({ bundleRevision: "etag-1", bundleSha256: first.sha256 });
      // nginx itself answers 304 to that ETag...
      expect(await downloadBundle({ url, etag: loaded.etag, maxBytes: 1 << 20, headerTimeoutMs: 5000, bodyIdleTimeoutMs: 5000 })).toMatchObject({ status: "not_modified" });
      // ...so a poll downloads nothing and activates nothing.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const after = await refresh(kernel);
      expect(after.activations).toBe(1);
      expect(after.last_successful_download).toBe(loaded.last_successful_download);
      expect(after.last_successful_request! > loaded.last_successful_request!).toBe(true);
      expect(after.code).toBeUndefined();

      const second = revision("etag-2", 10);
      publish(root, "etag.tar.gz", second.bytes);
      const swapped = await refresh(kernel);
      expect(swapped).toMatchObject({ active_revision: "etag-2", active_sha256: second.sha256, activations: 2 });
      expect(swapped.etag).not.toBe(loaded.etag);
      const decision = await kernel.evaluate(COSTLY_ACTION);
      expect(decision.provenance.bundleRevision).toBe("etag-2");
      expect(decision.allowed).toBe(false);
    } finally {
      kernel.close();
    }
  });

  it("swaps revisions while thousands of decisions run: each names exactly one revision, none lost", async () => {
    const revisions = [revision("load-1", 100), revision("load-2", 10), revision("load-3", 100), revision("load-4", 10)];
    publish(root, "load.tar.gz", revisions[0]!.bytes);
    const kernel = await createPolicyKernel({ bundle: `${server.origin}/load.tar.gz`, bundleService: { minDelaySeconds: 0.002, maxDelaySeconds: 0.01 } });
    const bySha = new Map(revisions.map((rev) => [rev.sha256, rev]));
    const counts = new Map<string, number>(revisions.map((rev) => [rev.name, 0]));
    const anomalies: string[] = [];
    let issued = 0;
    let decided = 0;
    let running = true;
    let slowestMs = 0;
    const worker = async (id: number): Promise<void> => {
      let last = 0;
      while (running) {
        // A batch in flight at once: a swap can land between any two of them.
        const started = performance.now();
        const batch = Array.from({ length: 25 }, () => {
          issued++;
          return kernel.evaluate(COSTLY_ACTION);
        });
        const decisions = await Promise.all(batch);
        slowestMs = Math.max(slowestMs, performance.now() - started);
        for (const decision of decisions) {
          decided++;
          const rev: Revision | undefined = bySha.get(decision.provenance.bundleSha256 ?? "");
          if (!rev || rev.name !== decision.provenance.bundleRevision) {
            anomalies.push(`worker ${id}: ${decision.provenance.bundleRevision} / ${decision.provenance.bundleSha256}`);
            continue;
          }
          counts.set(rev.name, counts.get(rev.name)! + 1);
          if (decision.allowed !== rev.maxCostUsd >= 50) anomalies.push(`worker ${id}: ${rev.name} decided allowed=${decision.allowed}`);
          const index = revisions.indexOf(rev);
          if (index < last) anomalies.push(`worker ${id}: back from ${revisions[last]!.name} to ${rev.name}`);
          last = index;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    try {
      const workers = Array.from({ length: 8 }, (_, id) => worker(id));
      const waitFor = async (name: string): Promise<void> => {
        const deadline = Date.now() + 15_000;
        while (status(kernel).active_revision !== name) {
          if (Date.now() > deadline) throw new Error(`${name} never became active: ${JSON.stringify(status(kernel))}`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const rev of revisions.slice(1)) {
        publish(root, "load.tar.gz", rev.bytes);
        await waitFor(rev.name);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      running = false;
      await Promise.all(workers);
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      console.info(`swap under load: ${decided} decisions, ${JSON.stringify(Object.fromEntries(counts))}, anomalies ${anomalies.length}, slowest batch of 25 ${slowestMs.toFixed(1)} ms`);
      expect(anomalies).toEqual([]);
      expect(decided).toBe(issued);
      expect(total).toBe(decided);
      expect(decided).toBeGreaterThan(2000);
      for (const rev of revisions) expect(counts.get(rev.name), rev.name).toBeGreaterThan(0);
      expect(status(kernel)).toMatchObject({ active_revision: "load-4", activations: 4 });
    } finally {
      running = false;
      kernel.close();
    }
  });

  it("keeps bad new revisions out (corrupt, truncated, wrong wasm, over the cap) and reports each", async () => {
    const good = revision("good-1", 100);
    publish(root, "bad.tar.gz", good.bytes);
    const kernel = await createPolicyKernel({ bundle: `${server.origin}/bad.tar.gz`, bundleLimits: { maxBytes: 400_000 } });
    const bad: [string, Uint8Array, string][] = [
      ["corrupt", randomBytes(4096), "not a gzip archive"],
      ["truncated", good.bytes.subarray(0, good.bytes.length >> 1), "not a gzip archive"],
      ["wrong wasm", revision("bad-wasm", 100, (entries) => entries.map((e) => (e.path === "/policy.wasm" ? { path: e.path, bytes: randomBytes(2048) } : e))).bytes, "not a valid WebAssembly module"],
      ["over the cap", revision("huge", 100, (entries) => [...entries, { path: "/noise.bin", bytes: randomBytes(500_000) }]).bytes, "more than 400000"],
      ["no policy.wasm", revision("no-wasm", 100, (entries) => entries.filter((e) => e.path !== "/policy.wasm")).bytes, "no /policy.wasm"],
    ];
    try {
      for (const [what, bytes, message] of bad) {
        publish(root, "bad.tar.gz", bytes);
        const reported = await refresh(kernel);
        expect(reported, what).toMatchObject({ code: "bundle_error", active_revision: "good-1", activations: 1 });
        expect(reported.message, what).toContain(message);
        const decision = await kernel.evaluate(COSTLY_ACTION);
        expect(decision.provenance.bundleRevision, what).toBe("good-1");
        expect(decision.allowed, what).toBe(true);
      }
      const fixed = revision("good-2", 10);
      publish(root, "bad.tar.gz", fixed.bytes);
      const recovered = await refresh(kernel);
      expect(recovered).toMatchObject({ active_revision: "good-2", activations: 2 });
      expect(recovered.code).toBeUndefined();
      expect(recovered.message).toBeUndefined();
      expect((await kernel.evaluate(COSTLY_ACTION)).allowed).toBe(false);
    } finally {
      kernel.close();
    }
  });

  it("sends a bearer token, from the option or a file read before each request", async () => {
    publish(join(root, "secure"), "b.tar.gz", revision("secret-1", 100).bytes);
    const url = `${server.origin}/secure/b.tar.gz`;
    await expect(createPolicyKernel({ bundle: url })).rejects.toThrow("server replied with 401 Unauthorized");
    await expect(createPolicyKernel({ bundle: url, bundleService: { token: "wrong" } })).rejects.toThrow("401");
    const withToken = await createPolicyKernel({ bundle: url, bundleService: { token: "s3cret-token" } });
    expect(withToken.provenance.bundleRevision).toBe("secret-1");
    withToken.close();

    const tokenFile = join(root, "token.txt");
    writeFileSync(tokenFile, "s3cret-token\n");
    const kernel = await createPolicyKernel({ bundle: url, bundleService: { tokenFile } });
    try {
      expect(kernel.provenance.bundleRevision).toBe("secret-1");
      // The token is rotated on the server but not here: the next request is refused, the revision stays.
      writeFileSync(tokenFile, "expired-token\n");
      publish(join(root, "secure"), "b.tar.gz", revision("secret-2", 100).bytes);
      expect(await refresh(kernel)).toMatchObject({ code: "bundle_error", http_code: "401", active_revision: "secret-1" });
      writeFileSync(tokenFile, "s3cret-token\n");
      expect(await refresh(kernel)).toMatchObject({ active_revision: "secret-2", activations: 2 });
    } finally {
      kernel.close();
    }
  });

  it("fails the first load on 404 and 500, and keeps the revision when they come later", async () => {
    await expect(createPolicyKernel({ bundle: `${server.origin}/missing.tar.gz` })).rejects.toThrow(`${server.origin}/missing.tar.gz: server replied with 404 Not Found`);
    await expect(createPolicyKernel({ bundle: `${server.origin}/broken/x.tar.gz` })).rejects.toThrow("server replied with 500 Internal Server Error");
    publish(root, "gone.tar.gz", revision("gone-1", 100).bytes);
    const kernel = await createPolicyKernel({ bundle: `${server.origin}/gone.tar.gz` });
    try {
      unlinkSync(join(root, "gone.tar.gz"));
      expect(await refresh(kernel)).toMatchObject({ code: "bundle_error", http_code: "404", message: expect.stringContaining("404 Not Found"), active_revision: "gone-1" });
      expect((await kernel.evaluate(COSTLY_ACTION)).provenance.bundleRevision).toBe("gone-1");
      publish(root, "gone.tar.gz", revision("gone-1", 100).bytes);
      // Back, and the same archive: the error clears without a second activation.
      expect(await refresh(kernel)).toMatchObject({ active_revision: "gone-1", activations: 1 });
      expect(status(kernel).code).toBeUndefined();
    } finally {
      kernel.close();
    }
  });

  it("follows a redirect, and reads a bundle served with another content type as OPA does", async () => {
    publish(root, "moved.tar.gz", revision("moved-1", 100).bytes);
    const moved = await createPolicyKernel({ bundle: `${server.origin}/moved/moved.tar.gz` });
    expect(moved.provenance.bundleRevision).toBe("moved-1");
    expect(status(moved).name).toBe(`${server.origin}/moved/moved.tar.gz`);
    moved.close();
    const html = await createPolicyKernel({ bundle: `${server.origin}/html/moved.tar.gz` });
    expect(html.provenance.bundleRevision).toBe("moved-1");
    html.close();
    writeFileSync(join(root, "page.html"), "<!doctype html><html><body>Sign in</body></html>");
    await expect(createPolicyKernel({ bundle: `${server.origin}/html/page.html` })).rejects.toThrow(/not a gzip archive.*served as text\/html/);
  });
});
