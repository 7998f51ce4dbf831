import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PolicyKernelError } from "../../../src/errors.js";
import { readBundle, readBundleBytes } from "../../../src/engines/rego/bundle.js";
import { readVerifiedBundleBytes } from "../../../src/engines/rego/verified-bundle.js";
import { defaultBundlePath } from "../../../src/kernel/defaults.js";
import { defaultBundleEntries, tarGzOf } from "../../helpers/tar-writer.js";
import { entriesOf, makeKey, opaSignedBundle, writeText } from "../../helpers/signed-bundles.js";

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

  it("verifies a downloaded signed archive as a signed file: accepted with its key, refused tampered or without one", async () => {
    const work = mkdtempSync(join(tmpdir(), "pk-bytes-signed-"));
    writeText(join(work, "src"), "x.rego", "package x\n\nallow if input.ok\n");
    writeText(join(work, "src"), "data.json", '{"limit": 5}');
    const key = makeKey("ES256");
    const signed = readFileSync(opaSignedBundle(work, "r1", join(work, "src"), key));
    const verification = { key: key.verification, alg: "ES256" as const };
    const bundle = await readVerifiedBundleBytes(signed, "https://b.example/r1.tar.gz", { verification });
    expect(bundle.manifest.revision).toBe("r1");
    // Unsigned readers refuse it: only the verifying one may read a signed archive.
    expect(() => readBundleBytes(signed, "u")).toThrow(PolicyKernelError);
    const tampered = tarGzOf(entriesOf(signed).map((e) => (e.path.endsWith("/data.json") ? { ...e, bytes: '{"limit": 500}' } : e)));
    await expect(readVerifiedBundleBytes(tampered, "u", { verification })).rejects.toThrow(/u:\/data\.json: digest mismatch/);
    await expect(readVerifiedBundleBytes(signed, "u", {})).rejects.toThrow(/verification key not provided/);
    await expect(readVerifiedBundleBytes(signed, "u", { verification, limits: { maxBytes: 100 } })).rejects.toThrow(/more than 100/);
  });
});
