import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PolicyKernelError } from "../../../src/errors.js";
import { readBundle, readBundleBytes } from "../../../src/engines/rego/bundle.js";
import type { TarFile } from "../../../src/engines/rego/tar.js";
import { defaultBundlePath } from "../../../src/kernel/defaults.js";
import { defaultBundleEntries, tarGzOf } from "../../helpers/tar-writer.js";

/** readBundleBytes: a downloaded archive is read with exactly the checks a bundle file gets. */
describe("readBundleBytes", () => {
  const bytes = readFileSync(defaultBundlePath());

  it("reads the bytes of a bundle file as readBundle reads the file", () => {
    const fromFile = readBundle(defaultBundlePath());
    const fromBytes = readBundleBytes(bytes, "https://bundles.example.com/default.tar.gz");
    expect(fromBytes.location).toBe("https://bundles.example.com/default.tar.gz");
    expect({ sha256: fromBytes.sha256, modules: fromBytes.modulesSha256, manifest: fromBytes.manifest, data: fromBytes.data }).toEqual({
      sha256: fromFile.sha256,
      modules: fromFile.modulesSha256,
      manifest: fromFile.manifest,
      data: fromFile.data,
    });
  });

  it("applies the caps: the archive's size, then its decompressed size", () => {
    expect(() => readBundleBytes(bytes, "u", { maxBytes: 1000 })).toThrow(`u: archive is ${bytes.length} bytes, more than 1000`);
    expect(() => readBundleBytes(bytes, "u", { maxBytes: bytes.length + 1 })).toThrow("archive decompresses to more than");
    expect(() => readBundleBytes(bytes, "u", { maxFiles: 3 })).toThrow("u: more than 3 files");
    expect(() => readBundleBytes(bytes, "u", { maxFileBytes: 100 })).toThrow("more than 100 (bundleLimits.maxFileBytes)");
  });

  it("refuses what a file would be refused for: not gzip, truncated, prototype paths, no wasm", () => {
    expect(() => readBundleBytes(Buffer.from("<html></html>"), "u")).toThrow("u: not a gzip archive");
    expect(() => readBundleBytes(bytes.subarray(0, 1000), "u")).toThrow(PolicyKernelError);
    expect(() => readBundleBytes(tarGzOf([...defaultBundleEntries(), { path: "/__proto__/data.json", bytes: '{"polluted": 1}' }]), "u")).toThrow('forbidden path segment "__proto__"');
    expect(() => readBundleBytes(tarGzOf(defaultBundleEntries().filter((e) => e.path !== "/policy.wasm")), "u")).toThrow("u: no /policy.wasm in the bundle");
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("hands every file to the verify hook first, and a refusal there refuses the bundle", () => {
    const seen: string[] = [];
    readBundleBytes(bytes, "u", {}, { verify: (files: readonly TarFile[]) => seen.push(...files.map((f) => f.path)) });
    expect(seen.sort()).toEqual(defaultBundleEntries().map((e) => e.path).sort());
    const refuse = (): never => {
      throw new PolicyKernelError("invalid_bundle", "signature does not match", { file: "u" });
    };
    expect(() => readBundleBytes(bytes, "u", {}, { verify: refuse })).toThrow("u: signature does not match");
    expect(() => readBundle(defaultBundlePath(), {}, { verify: refuse })).toThrow("signature does not match");
  });
});
