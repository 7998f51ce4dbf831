// An env trail's files are created new: neither the trail nor its public key overwrites a file.
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PolicyKernelError } from "../../src/errors.js";
import { createEnvTrail } from "../../src/gym/env-trail.js";

const dir = mkdtempSync(join(tmpdir(), "pk-env-trail-"));

function refusal(run: () => unknown): PolicyKernelError {
  try {
    run();
  } catch (error) {
    if (error instanceof PolicyKernelError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("createEnvTrail files", () => {
  it("writes the public key beside a new trail", () => {
    const path = join(dir, "fresh.jsonl");
    const trail = createEnvTrail({ path }, "t");
    trail.close();
    expect(readFileSync(`${path}.pub`, "utf8")).toBe(trail.publicKeyPem);
  });

  it("an existing .pub is refused, not overwritten, and names the file and field", () => {
    const path = join(dir, "taken.jsonl");
    writeFileSync(`${path}.pub`, "someone else's key\n");
    const error = refusal(() => createEnvTrail({ path }, "t"));
    expect(error.code).toBe("invalid_config");
    expect({ file: error.file, field: error.field }).toEqual({ file: `${path}.pub`, field: "trail.path" });
    expect(readFileSync(`${path}.pub`, "utf8")).toBe("someone else's key\n");
  });

  it("a symlink planted at the .pub path is not followed", () => {
    const victim = join(dir, "victim.txt");
    writeFileSync(victim, "precious\n");
    const path = join(dir, "planted.jsonl");
    symlinkSync(victim, `${path}.pub`);
    expect(refusal(() => createEnvTrail({ path }, "t")).code).toBe("invalid_config");
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(existsSync(path)).toBe(true); // the trail file was created first; it is closed, not leaked
  });
});
