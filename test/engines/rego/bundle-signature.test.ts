// The verifier on its own, on hostile settings and files: what the matrix against OPA does not
// reach because OPA has no such input (a library caller's options, a bundle with no files).
import { describe, expect, it } from "vitest";
import { verifyBundleFiles, isSignaturesFile } from "../../../src/engines/rego/bundle-signature.js";
import { bundleFileDigest, isStructuredDoc } from "../../../src/engines/rego/bundle-hash.js";
import { goHashInput, parseGoJson } from "../../../src/engines/rego/go-json.js";

const signatures = (text: string) => ({ path: "/.signatures.json", bytes: Buffer.from(text) });

describe("verifyBundleFiles", () => {
  it("names the option a library caller got wrong, as a PolicyKernelError", async () => {
    const files = [signatures('{"signatures":["a.b.c"]}')];
    await expect(verifyBundleFiles(files, "b.tar.gz", { key: "" })).rejects.toMatchObject({ code: "invalid_config", field: "verification.key" });
    await expect(verifyBundleFiles(files, "b.tar.gz", { key: "k", alg: "none" as never })).rejects.toMatchObject({ code: "invalid_config", field: "verification.alg" });
    await expect(verifyBundleFiles(files, "b.tar.gz", { key: "k", extra: 1 } as never)).rejects.toMatchObject({ code: "invalid_config" });
  });

  it("lets an unsigned bundle through only without a key, whatever else it holds", async () => {
    const files = [{ path: "/data.json", bytes: Buffer.from("{}") }];
    await expect(verifyBundleFiles(files, "b.tar.gz", undefined)).resolves.toBeUndefined();
    await expect(verifyBundleFiles([], "b.tar.gz", undefined)).resolves.toBeUndefined();
    await expect(verifyBundleFiles(files, "b.tar.gz", { key: "k" })).rejects.toThrow("b.tar.gz: bundle missing .signatures.json file");
  });

  it.each([
    ["a truncated signatures file", '{"signatures":["a.b'],
    ["a signatures list of numbers", '{"signatures":[1]}'],
    ["a plugin that is not a string", '{"signatures":["a.b.c"],"plugin":{}}'],
    ["bytes that are not UTF-8", "\xff\xfe"],
  ])("refuses %s, naming the file", async (_name, text) => {
    const files = [{ path: "/.signatures.json", bytes: Buffer.from(text, "latin1") }];
    await expect(verifyBundleFiles(files, "b.tar.gz", { key: "k", alg: "HS256" })).rejects.toThrow("b.tar.gz:/.signatures.json: bundle load failed on signatures decode");
  });

  it("matches OPA's signatures file by its base name, in any folder", () => {
    expect(["/.signatures.json", "/a/b/.signatures.json", "/signatures.json", "/.signatures.json.bak"].map(isSignaturesFile)).toEqual([true, true, false, false]);
  });
});

describe("OPA's file digests", () => {
  it("hashes data.json and .manifest as parsed JSON and everything else as bytes", () => {
    expect(["/data.json", "/a/data.json", "/.manifest", "/data.yaml", "/x.json", "/policy.wasm"].map(isStructuredDoc)).toEqual([true, true, true, true, false, false]);
    const spaced = bundleFileDigest("/data.json", Buffer.from('{ "b": [1, 2],\n "a": "x" }'), "SHA-256");
    expect(bundleFileDigest("/data.json", Buffer.from('{"a":"x","b":[1,2]}'), "SHA-256")).toEqual(spaced);
    expect(bundleFileDigest("/other.json", Buffer.from('{ "b": [1, 2],\n "a": "x" }'), "SHA-256")).not.toEqual(spaced);
  });

  it("refuses what it cannot hash OPA's way, saying why", () => {
    expect(() => bundleFileDigest("/data.json", Buffer.from("{}"), "SHA3-256")).toThrow("unsupported hashing algorithm: SHA3-256");
    expect(() => bundleFileDigest("/data.json", Buffer.from("{}"), "__proto__")).toThrow("unsupported hashing algorithm");
    expect(() => bundleFileDigest("/data.json", Buffer.from([0x7b, 0xff, 0x7d]), "SHA-256")).toThrow("not valid UTF-8");
    expect(() => bundleFileDigest("/data.yaml", Buffer.from("a: 1"), "SHA-256")).toThrow("YAML data files cannot be verified");
    expect(() => bundleFileDigest("/data.json", Buffer.from(`${"[".repeat(101)}${"]".repeat(101)}`), "SHA-256")).toThrow("nested deeper than 100");
  });

  it("keeps what Go keeps: number spelling, the last duplicate key, keys in UTF-8 order, prototype keys as data", () => {
    const hashed = (text: string) => goHashInput(parseGoJson(text)).toString("utf8");
    expect(hashed('{"n": 1.0, "m": 1e2}')).toBe('{"m":1e2,"n":1.0}');
    expect(hashed('{"a": 1, "a": 2}')).toBe('{"a":2}');
    expect(hashed('{"\\uffff": 1, "\\ud83d\\ude00": 2}')).toBe('{"\uffff":1,"😀":2}');
    expect(hashed('{"__proto__": {"x": 1}}')).toBe('{"__proto__":{"x":1}}');
    expect(({} as Record<string, unknown>)["x"]).toBeUndefined();
  });
});
