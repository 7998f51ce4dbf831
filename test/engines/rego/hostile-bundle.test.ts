import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGzip } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { isPolicyKernelError, type PolicyKernelError } from "../../../src/errors.js";
import { DEFAULT_BUNDLE_LIMITS, readBundle } from "../../../src/engines/rego/bundle.js";
import { createPolicyKernel } from "../../../src/kernel/create-kernel.js";
import { unpackDefaultBundle } from "../../helpers/bundle-folder.js";
import { defaultBundleEntries, tarGzOf, tarHeader, type TarEntry } from "../../helpers/tar-writer.js";
import { expectPrototypeClean } from "../../helpers/prototype-clean.js";

const root = join(import.meta.dirname, "..", "..", "..");
const work = mkdtempSync(join(tmpdir(), "pk-hostile-bundle-"));
let counter = 0;

function bundleFile(entries: readonly TarEntry[]): string {
  const path = join(work, `bundle-${counter++}.tar.gz`);
  writeFileSync(path, tarGzOf(entries));
  return path;
}

/** The error readBundle throws for `location`, which must be an invalid_bundle PolicyKernelError. */
function bundleError(location: string, limits = {}): PolicyKernelError {
  try {
    readBundle(location, limits);
  } catch (error) {
    if (isPolicyKernelError(error, "invalid_bundle")) return error;
    throw error;
  }
  throw new Error(`${location} was accepted`);
}

afterEach(expectPrototypeClean);

const polluting = JSON.stringify({ polluted: "yes", policy_kernel: { policies: [] } });

describe("prototype keys in a bundle archive", () => {
  it.each([
    ["/__proto__/data.json", "__proto__"],
    ["/constructor/prototype/data.json", "constructor"],
    ["/a/prototype/data.json", "prototype"],
    ["/__proto__/x.rego", "__proto__"],
  ])("refuses the entry %s, naming it and the segment", async (path, segment) => {
    const location = bundleFile([...defaultBundleEntries(), { path, bytes: polluting }]);
    const error = bundleError(location);
    expect(error.message).toContain(location);
    expect(error.message).toContain(`entry "${path}" has the forbidden path segment "${segment}"`);
    await expect(createPolicyKernel({ bundle: location })).rejects.toThrow(`forbidden path segment "${segment}"`);
  });

  it.each([
    ['{"__proto__": {"polluted": "yes"}}', "__proto__"],
    ['{"policy_kernel": {"config": {"cost": {"__proto__": {"max_cost_usd": "x"}}}}}', "policy_kernel.config.cost.__proto__"],
    ['{"a": [{"b": {"constructor": {"prototype": {"polluted": 1}}}}]}', "a[0].b.constructor"],
    ['{"x": {"prototype": 1}}', "x.prototype"],
  ])("refuses a data.json holding %s, naming the key path", (json, field) => {
    const entries = defaultBundleEntries().map((entry) => (entry.path === "/data.json" ? { path: entry.path, bytes: json } : entry));
    const location = bundleFile(entries);
    const error = bundleError(location);
    expect(error.file).toBe(`${location}:/data.json`);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(/forbidden key "(__proto__|constructor|prototype)"/);
  });

  it("refuses a .manifest with a __proto__ key", () => {
    const entries = defaultBundleEntries().map((entry) =>
      entry.path === "/.manifest" ? { path: entry.path, bytes: '{"revision": "r", "__proto__": {"polluted": 1}}' } : entry,
    );
    const error = bundleError(bundleFile(entries));
    expect(error.file).toMatch(/:\/\.manifest$/);
    expect(error.field).toBe("__proto__");
  });

  it("still merges data files by folder path onto plain own members", () => {
    const location = bundleFile([...defaultBundleEntries(), { path: "/extra/toString/data.json", bytes: '{"n": 1}' }]);
    const bundle = readBundle(location);
    const extra = bundle.data["extra"] as Record<string, Record<string, unknown>>;
    expect(Object.hasOwn(extra, "toString")).toBe(true);
    expect(extra["toString"]).toEqual({ n: 1 });
  });
});

describe("prototype keys in a bundle folder", () => {
  it("refuses a __proto__ folder", async () => {
    const dir = mkdtempSync(join(work, "folder-"));
    unpackDefaultBundle(dir);
    mkdirSync(join(dir, "__proto__"));
    writeFileSync(join(dir, "__proto__", "data.json"), polluting);
    expect(bundleError(dir).message).toContain('entry "/__proto__/data.json" has the forbidden path segment "__proto__"');
    await expect(createPolicyKernel({ bundle: dir })).rejects.toThrow(/forbidden path segment/);
  });

  it("refuses a data.json with a constructor key", () => {
    const dir = mkdtempSync(join(work, "folder-"));
    unpackDefaultBundle(dir, (path, bytes) => (path === "/data.json" ? Buffer.from('{"policy_kernel": {"constructor": {}}}') : bytes));
    const error = bundleError(dir);
    expect(error.file).toBe(`${dir}:/data.json`);
    expect(error.field).toBe("policy_kernel.constructor");
  });
});

describe("links and paths that leave the bundle", () => {
  it.each([
    [{ path: "/data.json", type: "2", linkName: "/etc/passwd" } as TarEntry, "symbolic link"],
    [{ path: "/extra.rego", type: "1", linkName: "/policy.wasm" } as TarEntry, "hard link"],
  ])("refuses a tar link entry (%#)", (link, kind) => {
    const entries = defaultBundleEntries().filter((entry) => entry.path !== link.path);
    const error = bundleError(bundleFile([...entries, link]));
    expect(error.message).toContain(`entry "${link.path}" is a ${kind}`);
  });

  it.each(["../data.json", "/a/../../data.json", "/./policy.wasm", "/a//data.json"])("refuses the path %s", (path) => {
    const error = bundleError(bundleFile([...defaultBundleEntries(), { path, bytes: "{}" }]));
    expect(error.message).toMatch(/has a "(\.\.|\.|)" path segment/);
  });

  it("refuses a path that appears twice", () => {
    const error = bundleError(bundleFile([...defaultBundleEntries(), { path: "/data.json", bytes: "{}" }]));
    expect(error.message).toContain('entry "/data.json" appears twice');
  });

  it("refuses a symbolic link in a bundle folder instead of following it", () => {
    const outside = mkdtempSync(join(work, "outside-"));
    writeFileSync(join(outside, "data.json"), polluting);
    const dir = mkdtempSync(join(work, "folder-"));
    unpackDefaultBundle(dir);
    symlinkSync(outside, join(dir, "linked"));
    expect(bundleError(dir).message).toContain('"/linked" is a symbolic link');
    const fileLink = mkdtempSync(join(work, "folder-"));
    unpackDefaultBundle(fileLink, (_path, bytes) => bytes);
    symlinkSync(join(outside, "data.json"), join(fileLink, "rego", "data.json"));
    expect(bundleError(fileLink).message).toContain('"/rego/data.json" is a symbolic link');
  });
});

describe("size and count caps", () => {
  it("has defaults the shipped bundle fits in many times over", () => {
    const files = defaultBundleEntries();
    const total = files.reduce((sum, file) => sum + Buffer.from(file.bytes ?? "").length, 0);
    expect(total * 100).toBeLessThan(DEFAULT_BUNDLE_LIMITS.maxBytes);
    expect(files.length * 100).toBeLessThan(DEFAULT_BUNDLE_LIMITS.maxFiles);
  });

  it("refuses a file-count bomb naming the cap, and honours a raised cap", () => {
    const many = Array.from({ length: 10_001 }, (_, i) => ({ path: `/f/${i}.txt`, bytes: "" }));
    const location = bundleFile([...defaultBundleEntries(), ...many]);
    expect(bundleError(location).message).toContain(`more than ${DEFAULT_BUNDLE_LIMITS.maxFiles} files (bundleLimits.maxFiles; the CLI's --bundle-max-files)`);
    expect(readBundle(location, { maxFiles: 20_000 }).manifest.revision).not.toBe("");
    expect(bundleError(location, { maxFiles: 5 }).message).toContain("more than 5 files");
  });

  it("refuses a file over the per-file cap and a bundle over the total cap", () => {
    const location = bundleFile(defaultBundleEntries());
    expect(bundleError(location, { maxFileBytes: 100_000 }).message).toMatch(/entry "\/policy\.wasm" is \d+ bytes, more than 100000 \(bundleLimits\.maxFileBytes\)/);
    expect(bundleError(location, { maxBytes: 100_000 }).message).toContain("decompresses to more than 100000 bytes (bundleLimits.maxBytes; the CLI's --bundle-max-bytes)");
    const dir = mkdtempSync(join(work, "folder-"));
    unpackDefaultBundle(dir);
    expect(bundleError(dir, { maxBytes: 100_000 }).message).toContain("files total more than 100000 bytes");
    expect(bundleError(dir, { maxFiles: 3 }).message).toContain("more than 3 files");
  });

  it("validates bundleLimits as a kernel option", async () => {
    await expect(createPolicyKernel({ bundleLimits: { maxBytes: -1 } })).rejects.toThrow(/bundleLimits\.maxBytes/);
    await expect(createPolicyKernel({ bundleLimits: { maxFiles: 3 } })).rejects.toThrow(/more than 3 files/);
  });

  it("takes the caps from CLI flags", () => {
    const cli = join(root, "dist", "src", "cli", "main.js");
    const action = JSON.stringify({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } });
    const run = (...flags: string[]) => spawnSync(process.execPath, [cli, "eval", ...flags], { input: action, encoding: "utf8" });
    const few = run("--bundle-max-files", "3");
    expect(few.status).toBe(1);
    expect(few.stderr).toContain("more than 3 files (bundleLimits.maxFiles; the CLI's --bundle-max-files)");
    expect(run("--bundle-max-bytes", "100000").stderr).toContain("decompresses to more than 100000 bytes");
    expect(run("--bundle-max-bytes", "0").stderr).toContain("--bundle-max-bytes: must be a whole number from 1");
    expect(run("--bundle-max-files", "20000", "--bundle-max-bytes", String(128 * 1024 * 1024)).status).toBe(0);
  });

  it("refuses a data.json nested 100,000 levels deep with a clear error", () => {
    const deep = `{"a": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const entries = defaultBundleEntries().map((entry) => (entry.path === "/data.json" ? { path: entry.path, bytes: deep } : entry));
    const error = bundleError(bundleFile(entries));
    expect(error.message).toContain("JSON nested deeper than 100 levels");
  });

  it("refuses a 1 GiB gzip bomb with bounded memory (a child process's peak RSS)", async () => {
    const bomb = join(work, "bomb.tar.gz");
    const size = 1024 * 1024 * 1024;
    // Streamed through gzip a megabyte at a time: the test never holds the gigabyte either.
    await new Promise<void>((resolve, reject) => {
      const gzip = createGzip({ level: 9 });
      const chunks: Buffer[] = [];
      gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
      gzip.on("end", () => {
        writeFileSync(bomb, Buffer.concat(chunks));
        resolve();
      });
      gzip.on("error", reject);
      gzip.write(tarHeader({ path: "/data.json" }, size));
      const zeros = Buffer.alloc(1024 * 1024);
      let written = 0;
      const pump = (): void => {
        while (written < size) {
          written += zeros.length;
          if (!gzip.write(zeros)) {
            gzip.once("drain", pump);
            return;
          }
        }
        gzip.end();
      };
      pump();
    });
    const compressed = readFileSync(bomb).length;
    expect(compressed).toBeLessThan(2 * 1024 * 1024);
    // The built library in a fresh process: its peak RSS is the reader's, not the test runner's.
    const script = `
      import { readBundle } from ${JSON.stringify(join(root, "dist", "src", "engines", "rego", "bundle.js"))};
      let message = "accepted";
      try { readBundle(process.argv[1]); } catch (error) { message = error.message; }
      process.stdout.write(JSON.stringify({ message, maxRssKb: process.resourceUsage().maxRSS }));
    `;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script, bomb], { encoding: "utf8" });
    expect(child.status, child.stderr).toBe(0);
    const { message, maxRssKb } = JSON.parse(child.stdout) as { message: string; maxRssKb: number };
    expect(message).toContain(`archive decompresses to more than ${DEFAULT_BUNDLE_LIMITS.maxBytes} bytes (bundleLimits.maxBytes; the CLI's --bundle-max-bytes)`);
    // A node process starts near 45 MB; the cap adds at most 64 MiB. Before the cap this was 2.1 GB.
    expect(maxRssKb / 1024, `peak RSS ${Math.round(maxRssKb / 1024)} MB`).toBeLessThan(256);
  });
});
