import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withFlagNames } from "../../src/cli/flag-names.js";
import { PolicyKernelError } from "../../src/errors.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const authz = join(root, "examples", "http-authz");

describe("CLI errors name the flag, not the library option", () => {
  it("rewrites the option path to the flag that set it and keeps the rest of the path, the file and the expectation", () => {
    const cases: [string, string][] = [
      ["createPolicyKernel.opa[0].entrypoints", "--entrypoint"],
      ["createPolicyKernel.opa[0].entrypoints[1]", "--entrypoint"],
      ["createPolicyKernel.opa[0].binding.rules[2].when", "--binding.rules[2].when"],
      ["createPolicyKernel.opa[0]", "--bundle"],
      ["createPolicyKernel.rawInput", "--raw-input"],
      ["createPolicyKernel.bundleLimits.maxBytes", "--bundle-max-bytes"],
      ["createPolicyKernel.data.policy_kernel", "--data.policy_kernel"],
    ];
    for (const [option, flag] of cases) {
      const error = new PolicyKernelError("invalid_config", "what went wrong", { file: "b.tar.gz", field: option, expected: "something" });
      const renamed = withFlagNames(error) as PolicyKernelError;
      expect(renamed.message).toBe(`b.tar.gz: ${flag}: what went wrong (expected something)`);
      expect(renamed.code).toBe("invalid_config");
      expect(renamed.cause).toBe(error);
    }
    const other = new PolicyKernelError("invalid_action", "x", { field: "action.sql" });
    expect(withFlagNames(other)).toBe(other);
    const plain = new Error("boom");
    expect(withFlagNames(plain)).toBe(plain);
  });

  it("eval with an entrypoint the bundle lacks names --entrypoint, exit 1, before reading any input", () => {
    const run = spawnSync(process.execPath, [cli, "eval", "--bundle", join(authz, "bundle.tar.gz"), "--entrypoint", "httpapi/authz/alow", "--raw-input"], { input: "not json at all", encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/--entrypoint: entrypoint "httpapi\/authz\/alow" is not in the bundle \(it has: httpapi\/authz\/allow\)/);
    expect(run.stderr).not.toMatch(/createPolicyKernel/);
    expect(run.stdout).toBe("");
  });
});
