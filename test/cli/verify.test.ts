// `policy-kernel verify` through the built CLI (dist/): exit codes, the named first bad line, the key options.
import { execFile, spawnSync } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateTrailKeyPair, publicKeyPem } from "../../src/audit/checkpoint.js";
import { TAMPER_CASES, forge, sealedTrail } from "../helpers/trail-tamper.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");

function verify(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, "verify", ...args], { encoding: "utf8", cwd: root });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** verify, without blocking: the tamper cases run side by side (each CLI start costs most of a second). */
function verifyAsync(...args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, "verify", ...args], { encoding: "utf8", cwd: root }, (error, stdout) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout });
    });
  });
}

describe("policy-kernel verify", () => {
  const trail = sealedTrail();

  it("exits 0 for an intact, sealed trail and says what it checked", () => {
    const { code, stdout, stderr } = verify(trail.path, "--public-key", trail.publicKeyPath);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^verified: ${trail.path}: 40 entries, 5 signed checkpoints, sealed by the final checkpoint; head [0-9a-f]{64}\\n$`));
  });

  it.concurrent.each(TAMPER_CASES.map((c) => [c.name, c] as const))("%s: detected, non-zero exit", async (name, tamper) => {
    const path = join(trail.dir, `cli-${name.replace(/\W+/g, "-")}.jsonl`);
    writeFileSync(path, tamper.text(trail));
    const { code, stdout } = await verifyAsync(path, "--public-key", trail.publicKeyPath);
    if (tamper.expect.status === "broken") {
      expect(code).toBe(2);
      expect(stdout).toMatch(new RegExp(`^BROKEN: ${path}: line ${tamper.expect.line}: ${tamper.expect.reason}: `));
    } else {
      expect(code).toBe(3);
      expect(stdout).toMatch(new RegExp(`^UNSEALED: ${path}: .*the first ${tamper.expect.signed} entries verify and are signed, but`));
    }
  });

  it("--json gives the status, the first bad line and reason, and the counts", () => {
    const broken = TAMPER_CASES.find((c) => c.name === "edit a field of an entry")!;
    const path = join(trail.dir, "json-broken.jsonl");
    writeFileSync(path, broken.text(trail));
    const result = verify(path, "--public-key", trail.publicKeyPath, "--json");
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ trail: path, status: "broken", line: 17, reason: "hash_mismatch", publicKey: { path: trail.publicKeyPath, foundBesideTrail: false } });
    const sealed = JSON.parse(verify(trail.path, "--public-key", trail.publicKeyPath, "--json").stdout);
    expect(sealed).toMatchObject({ status: "sealed", entries: 40, checkpoints: 5, signedEntries: 40 });
    expect(sealed.keyId).toMatch(/^[0-9a-f]{64}$/);
  });

  it("without --public-key uses TRAIL.pub and says that proves integrity only against that file", () => {
    const path = join(trail.dir, "beside.jsonl");
    copyFileSync(trail.path, path);
    expect(verify(path)).toMatchObject({ code: 1, stderr: expect.stringMatching(/no public key: pass --public-key FILE .*beside\.jsonl\.pub/) });
    writeFileSync(`${path}.pub`, trail.publicKeyPem);
    const { code, stderr } = verify(path);
    expect(code).toBe(0);
    expect(stderr).toMatch(/note: using .*beside\.jsonl\.pub, found beside the trail: this proves integrity only against that file/);

    // Why: an attacker who rewrites the trail rewrites the file beside it too; the key kept elsewhere still catches it.
    const attacker = generateTrailKeyPair();
    const forged = join(trail.dir, "forged-beside.jsonl");
    writeFileSync(forged, `${forge(trail.lines).join("\n")}\n`);
    writeFileSync(`${forged}.pub`, publicKeyPem(attacker.publicKey));
    expect(verify(forged).code).toBe(2);
    expect(verify(forged, "--public-key", trail.publicKeyPath)).toMatchObject({ code: 2, stdout: expect.stringMatching(/line 11: signature_mismatch/) });
  });

  it("exits 1 for usage and I/O errors: no trail, two trails, a missing file, a key that is not one", () => {
    expect(verify().code).toBe(1);
    expect(verify(trail.path, trail.path, "--public-key", trail.publicKeyPath)).toMatchObject({ code: 1, stderr: expect.stringMatching(/expected one trail file \(TRAIL\), got 2/) });
    expect(verify(join(trail.dir, "none.jsonl"), "--public-key", trail.publicKeyPath)).toMatchObject({ code: 1, stderr: expect.stringMatching(/none\.jsonl: file not found/) });
    const notKey = join(trail.dir, "not-a-key.pem");
    writeFileSync(notKey, "hello\n");
    expect(verify(trail.path, "--public-key", notKey)).toMatchObject({ code: 1, stderr: expect.stringMatching(/--public-key: not a public key/) });
    expect(verify(trail.path, "--public-key", join(trail.dir, "absent.pub"))).toMatchObject({ code: 1, stderr: expect.stringMatching(/absent\.pub.*cannot read the key file/) });
  });

  it("is listed in the help", () => {
    const result = spawnSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
    expect(result.stdout).toMatch(/^ {2}verify +verify an audit trail/m);
    expect(verify("--help").stdout).toMatch(/Exit 0 intact and sealed; 2 broken/);
  });
});
