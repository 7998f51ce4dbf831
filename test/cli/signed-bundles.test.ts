// Signed bundles end to end through the real CLI (dist/): `build --signing-key` signs with the
// pinned OPA (and OPA itself then verifies the result), `eval --verification-key` loads only what
// verifies, every refusal exits 1 naming the file, what failed and the flag; and the library
// options `verification` and `opa[i].verification` do the same.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readBundle } from "../../src/engines/rego/bundle.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { isPolicyKernelError } from "../../src/errors.js";
import { opaPath } from "../helpers/opa.js";
import { entriesOf, makeKey, payloadOf, writeText, type TestKey } from "../helpers/signed-bundles.js";
import { tarGzOf } from "../helpers/tar-writer.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "pk-signed-cli-"));
const ENTRYPOINT = "httpapi/authz/allow";
const POLICY = 'package httpapi.authz\n\nallow if input.user == data.httpapi.authz.admin\n';

function cliRun(args: readonly string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const keys: Record<string, TestKey> = {};
const keyFiles: Record<string, { signing: string; verification: string }> = {};
const bundles: Record<string, string> = {};
const input = writeText(work, "input.json", JSON.stringify({ user: "alice" }));

function evalArgs(bundle: string, ...extra: string[]): string[] {
  return ["eval", "--bundle", bundle, "--entrypoint", ENTRYPOINT, "--raw-input", "--input", input, ...extra];
}

beforeAll(() => {
  writeText(join(work, "policies"), "authz.rego", POLICY);
  writeText(join(work, "policies"), "data.json", JSON.stringify({ httpapi: { authz: { admin: "alice" } } }));
  for (const alg of ["RS256", "ES256", "HS256", "EdDSA"]) {
    keys[alg] = makeKey(alg);
    keyFiles[alg] = { signing: writeText(work, `${alg}.key`, keys[alg]!.signing), verification: writeText(work, `${alg}.pub`, keys[alg]!.verification) };
    const out = join(work, `${alg}.tar.gz`);
    const built = cliRun(["build", "policies", "--entrypoint", ENTRYPOINT, "--out", out, "--revision", `signed-${alg}`, "--signing-key", keyFiles[alg]!.signing, "--signing-alg", alg]);
    expect(built, built.stderr).toMatchObject({ code: 0 });
    expect(built.stdout).toContain(`signed ${out} (${alg}`);
    bundles[alg] = out;
  }
  const unsigned = cliRun(["build", "policies", "--entrypoint", ENTRYPOINT, "--out", join(work, "unsigned.tar.gz"), "--revision", "unsigned"]);
  expect(unsigned, unsigned.stderr).toMatchObject({ code: 0 });
  bundles["unsigned"] = join(work, "unsigned.tar.gz");
}, 180_000);

describe("policy-kernel build --signing-key", () => {
  it.each(["RS256", "ES256", "HS256", "EdDSA"])("signs a bundle OPA verifies (%s)", (alg) => {
    const opa = spawnSync(opaPath(), ["build", "-b", bundles[alg]!, "--verification-key", keyFiles[alg]!.verification, "--signing-alg", alg, "-o", join(work, `opa-${alg}.tar.gz`)], { encoding: "utf8" });
    expect(`${opa.stdout}${opa.stderr}`).toBe("");
    expect(opa.status).toBe(0);
    // Every file is listed, the signature file itself aside.
    const entries = entriesOf(readFileSync(bundles[alg]!));
    expect(payloadOf(entries).files.map((file) => `/${file.name}`).sort()).toEqual(entries.map((entry) => entry.path).filter((path) => path !== "/.signatures.json").sort());
  });

  it("leaves every other byte of the bundle as the unsigned build wrote it", () => {
    const unsigned = entriesOf(readFileSync(bundles["unsigned"]!)).filter((entry) => entry.path !== "/.manifest");
    const signed = entriesOf(readFileSync(bundles["RS256"]!)).filter((entry) => entry.path !== "/.manifest" && entry.path !== "/.signatures.json");
    // The manifests differ by their revision only.
    expect(signed).toEqual(unsigned);
  });

  it("refuses a signing flag that cannot apply, and a bad key, exit 1", () => {
    const out = join(work, "never.tar.gz");
    const cases: [string[], string][] = [
      [["--signing-alg", "ES256"], "--signing-alg needs --signing-key K"],
      [["--signing-key", keyFiles["RS256"]!.signing, "--signing-alg", "none"], '--signing-alg: must be one of RS256'],
      [["--signing-key", keyFiles["RS256"]!.signing, "--check"], "--check compares bytes"],
      [["--signing-key", keyFiles["RS256"]!.signing, "--claims-file", join(work, "missing.json")], "missing.json: --claims-file: file not found"],
      [["--signing-key", keyFiles["ES256"]!.signing, "--signing-alg", "RS256"], "opa sign:"],
    ];
    for (const [flags, message] of cases) {
      const result = cliRun(["build", "policies", "--entrypoint", ENTRYPOINT, "--out", out, ...flags]);
      expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 1, stderr: expect.stringContaining(message) });
    }
  });
});

describe("policy-kernel eval --verification-key", () => {
  it.each(["RS256", "ES256", "HS256", "EdDSA"])("loads a bundle signed with %s and names its revision", (alg) => {
    const result = cliRun(evalArgs(bundles[alg]!, "--verification-key", keyFiles[alg]!.verification, "--signing-alg", alg));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ allowed: true, provenance: { bundleRevision: `signed-${alg}` } });
  });

  it("takes the HMAC secret itself as the key, as OPA does", () => {
    const result = cliRun(evalArgs(bundles["HS256"]!, "--verification-key", keys["HS256"]!.verification, "--signing-alg", "HS256"));
    expect(result.code, result.stderr).toBe(0);
  });

  it("refuses a tampered bundle, naming the file and OPA's words", () => {
    const entries = entriesOf(readFileSync(bundles["RS256"]!)).map((entry) =>
      entry.path === "/data.json" ? { path: entry.path, bytes: Buffer.from(entry.bytes ?? "").toString("utf8").replace('"admin":"alice"', '"admin":"mallory"') } : entry,
    );
    const tampered = join(work, "tampered.tar.gz");
    writeFileSync(tampered, tarGzOf(entries));
    const result = cliRun(evalArgs(tampered, "--verification-key", keyFiles["RS256"]!.verification));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`${tampered}:/data.json: digest mismatch (want: `);
  });

  it.each([
    ["a signed bundle without a key", () => evalArgs(bundles["RS256"]!), "verification key not provided: the bundle is signed (/.signatures.json) (expected the key it was signed with: --verification-key K"],
    ["an unsigned bundle with a key", () => evalArgs(bundles["unsigned"]!, "--verification-key", keyFiles["RS256"]!.verification), "bundle missing .signatures.json file: it is not signed"],
    ["another key", () => evalArgs(bundles["RS256"]!, "--verification-key", keyFiles["EdDSA"]!.verification, "--signing-alg", "EdDSA"), "failed to verify JWT signature"],
    ["the wrong algorithm for the key", () => evalArgs(bundles["ES256"]!, "--verification-key", keyFiles["ES256"]!.verification), "--signing-alg"],
    ["a scope the signature lacks", () => evalArgs(bundles["RS256"]!, "--verification-key", keyFiles["RS256"]!.verification, "--scope", "prod"), 'scope mismatch: the signature\'s scope is "" (expected scope "prod" (--scope'],
    ["a key file that is not there", () => evalArgs(bundles["RS256"]!, "--verification-key", join(work, "nope.pem")), "--verification-key: file not found"],
    ["a key that is not PEM", () => evalArgs(bundles["RS256"]!, "--verification-key", input), "failed to parse PEM block containing the key"],
    ["--scope without a key", () => evalArgs(bundles["RS256"]!, "--scope", "prod"), "--scope says how to verify a signed bundle: add --verification-key K"],
    ["an unknown algorithm", () => evalArgs(bundles["RS256"]!, "--verification-key", keyFiles["RS256"]!.verification, "--signing-alg", "none"), "--signing-alg: must be one of"],
    ["a key without --bundle", () => ["eval", "--input", input, "--verification-key", keyFiles["RS256"]!.verification], "--verification-key verifies the signature of --bundle: add --bundle B"],
  ])("refuses %s, exit 1", (_name, args, message) => {
    const result = cliRun(args());
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: "" });
    expect(result.stderr).toContain(message);
  });

  it("verifies for test and train too", () => {
    const cases = writeText(work, "cases.json", JSON.stringify({ cases: [{ description: "alice is the admin", input: { user: "alice" }, expect: { allowed: true } }] }));
    const testArgs = ["test", cases, "--bundle", bundles["RS256"]!, "--entrypoint", ENTRYPOINT, "--raw-input"];
    const unverified = cliRun(testArgs);
    expect(unverified.code).toBe(1);
    expect(unverified.stderr).toContain("verification key not provided");
    const verified = cliRun([...testArgs, "--verification-key", keyFiles["RS256"]!.verification]);
    expect({ code: verified.code, stderr: verified.stderr }).toEqual({ code: 0, stderr: "" });
    expect(verified.stdout).toContain("1 passed, 0 failed");
    const train = cliRun(["train", "--episodes", "1", "--out", join(work, "run"), "--bundle", bundles["RS256"]!, "--no-progress"]);
    expect(train.code).toBe(1);
    expect(train.stderr).toContain("verification key not provided");
  });
});

describe("the library", () => {
  it("verifies `bundle` with `verification` and each `opa` source with its own", async () => {
    const key = keys["RS256"]!.verification;
    const kernel = await createPolicyKernel({ opa: [{ bundle: bundles["RS256"]!, entrypoints: [ENTRYPOINT], verification: { key } }], rawInput: true });
    try {
      expect(await kernel.evaluateInput!({ user: "alice" })).toMatchObject({ allowed: true, provenance: { bundleRevision: "signed-RS256" } });
    } finally {
      kernel.close();
    }
    await expect(createPolicyKernel({ opa: [{ bundle: bundles["RS256"]!, entrypoints: [ENTRYPOINT] }], rawInput: true })).rejects.toThrow("verification key not provided");
    await expect(createPolicyKernel({ bundle: bundles["RS256"]!, rules: false, verification: { key, scope: "prod" } })).rejects.toThrow("scope mismatch");
    await expect(createPolicyKernel({ bundle: false, verification: { key } })).rejects.toThrow("createPolicyKernel.verification: a verification key needs the bundle it verifies");
    await expect(createPolicyKernel({ bundle: bundles["RS256"]!, verification: { key, alg: "none" as never } })).rejects.toThrow("createPolicyKernel.verification.alg");
  });

  it("refuses a signed bundle in readBundle, which cannot verify", () => {
    let error: unknown;
    try {
      readBundle(bundles["RS256"]!);
    } catch (caught) {
      error = caught;
    }
    expect(isPolicyKernelError(error, "invalid_bundle")).toBe(true);
    expect((error as Error).message).toContain("verification key not provided");
    expect(readBundle(bundles["unsigned"]!).manifest.revision).toBe("unsigned");
  });
});
