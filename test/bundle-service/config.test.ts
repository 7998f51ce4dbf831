import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { nextDelayMs } from "../../src/bundle-service/backoff.js";
import { displayUrl, isBundleUrl } from "../../src/bundle-service/config.js";
import { revision } from "../helpers/bundle-revisions.js";

const work = mkdtempSync(join(tmpdir(), "pk-service-config-"));

describe("polling delays (OPA's jitter and backoff)", () => {
  const base = { minMs: 60_000, maxMs: 120_000 } as const;

  it("draws a delay between min and max after a success, none while long polling", () => {
    expect(nextDelayMs({ ...base, failed: false, retries: 0, longPoll: false, random: () => 0 })).toBe(60_000);
    expect(nextDelayMs({ ...base, failed: false, retries: 0, longPoll: false, random: () => 0.5 })).toBe(90_000);
    expect(nextDelayMs({ ...base, failed: false, retries: 0, longPoll: true, random: () => 0.5 })).toBe(0);
  });

  it("backs off from 100 ms by 1.6 per retry to the max delay, with ±20% jitter", () => {
    const middle = (retries: number): number => nextDelayMs({ ...base, failed: true, retries, longPoll: false, random: () => 0.5 });
    expect([0, 1, 2, 3].map(middle)).toEqual([100, 160, 256, 410]);
    expect(middle(40)).toBe(120_000);
    expect(nextDelayMs({ ...base, failed: true, retries: 1, longPoll: false, random: () => 0 })).toBe(128);
    expect(nextDelayMs({ ...base, failed: true, retries: 1, longPoll: false, random: () => 1 })).toBe(192);
    // A failure never polls without a pause, even with a max delay of 0.
    expect(nextDelayMs({ minMs: 0, maxMs: 0, failed: true, retries: 5, longPoll: false, random: () => 0.5 })).toBe(100);
  });
});

describe("bundle service options", () => {
  it("tells URLs from paths, and shows a URL without its credentials", () => {
    expect([isBundleUrl("https://x/b.tar.gz"), isBundleUrl("HTTP://x/b"), isBundleUrl("bundle/default.tar.gz"), isBundleUrl("file:///b"), isBundleUrl(false)]).toEqual([true, true, false, false, false]);
    expect(displayUrl("https://user:secret@bundles.example.com/b.tar.gz")).toBe("https://bundles.example.com/b.tar.gz");
  });

  it("refuses bundleService without a URL bundle, and contradictory settings, before any request", async () => {
    await expect(createPolicyKernel({ bundleService: { minDelaySeconds: 1 } })).rejects.toThrow("createPolicyKernel.bundleService: bundleService options apply to bundles given by URL");
    await expect(createPolicyKernel({ bundle: "http://127.0.0.1:9/b.tar.gz", bundleService: { minDelaySeconds: 5, maxDelaySeconds: 1 } })).rejects.toThrow("the least delay between polls (5 s) is more than the most (1 s)");
    await expect(createPolicyKernel({ bundle: "http://127.0.0.1:9/b.tar.gz", bundleService: { token: "a", tokenFile: "f" } })).rejects.toThrow("a bearer token is given twice");
    await expect(createPolicyKernel({ bundle: "http://127.0.0.1:9/b.tar.gz", bundleService: { minDelaySeconds: -1 } as never })).rejects.toThrow("minDelaySeconds");
    await expect(createPolicyKernel({ bundle: "http://127.0.0.1:9/b.tar.gz", bundleService: { onStatus: "log" } as never })).rejects.toThrow("a function");
    await expect(createPolicyKernel({ bundle: "http://127.0.0.1:9/b.tar.gz", bundleService: { proxy: "x" } as never })).rejects.toThrow("proxy");
  });

  it("refuses a token file that is missing, empty, several lines or oversized, naming the file", async () => {
    const rev = revision("token-1", 100);
    const server = createServer((_req, res) => res.writeHead(200).end(rev.bytes));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/b.tar.gz`;
    try {
      const file = (name: string, text: string | Buffer): string => {
        const path = join(work, name);
        writeFileSync(path, text);
        return path;
      };
      await expect(createPolicyKernel({ bundle: url, bundleService: { tokenFile: join(work, "absent") } })).rejects.toThrow(`${join(work, "absent")}: cannot read the bearer token (ENOENT)`);
      await expect(createPolicyKernel({ bundle: url, bundleService: { tokenFile: file("empty", "\n") } })).rejects.toThrow("the bearer token file is empty or holds more than one line");
      await expect(createPolicyKernel({ bundle: url, bundleService: { tokenFile: file("two", "a\nb\n") } })).rejects.toThrow("more than one line");
      await expect(createPolicyKernel({ bundle: url, bundleService: { tokenFile: file("big", Buffer.alloc(100_000, 0x61)) } })).rejects.toThrow("more than 65536 bytes");
      // A token that cannot be a header value is a failed request, not a crash.
      await expect(createPolicyKernel({ bundle: url, bundleService: { token: "bad\u0000token" } })).rejects.toThrow("request failed");
      const kernel = await createPolicyKernel({ bundle: url, bundleService: { tokenFile: file("good", "  tok  \n") } });
      expect(kernel.provenance.bundleRevision).toBe("token-1");
      kernel.close();
    } finally {
      server.close();
    }
  });
});
