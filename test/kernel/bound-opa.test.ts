import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundle } from "../../src/engines/rego/bundle.js";
import { GovernedEnvironment } from "../../src/env/environment.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { bindInput } from "../../src/kernel/binding/bind.js";
import { loadInputBinding } from "../../src/kernel/binding/load.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { opaPath } from "../helpers/opa.js";

// OPA's HTTP API authz policy, byte-for-byte, governing an agent's http_request tool calls inside
// a GovernedEnvironment through an input binding: every decision equals `opa eval` of the pinned OPA
// on the input the binding built, and the binding is checked against the policy at load.
const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const example = join(root, "examples", "http-authz");
const entrypoint = "httpapi/authz/allow";
let bundle: string;
let kernel: PolicyKernel;

beforeAll(async () => {
  bundle = join(mkdtempSync(join(tmpdir(), "pk-bound-")), "authz.tar.gz");
  execFileSync(process.execPath, [cli, "build", join(example, "policy"), "--entrypoint", entrypoint, "--out", bundle], { stdio: "pipe" });
  kernel = await createPolicyKernel({ opa: [{ bundle, entrypoints: [entrypoint], binding: join(example, "binding.yaml") }] });
}, 60_000);
afterAll(() => kernel?.close());

const call = (method: string, url: string) => ({ type: "tool_call", tool: "http_request", args: { method, url } });

function opaAllows(input: unknown): boolean {
  const file = join(mkdtempSync(join(tmpdir(), "pk-bound-in-")), "input.json");
  writeFileSync(file, JSON.stringify(input));
  const out = execFileSync(opaPath(), ["eval", "-d", join(example, "policy"), "-i", file, "--format", "json", `data.${entrypoint.replaceAll("/", ".")}`], { encoding: "utf8" });
  return (JSON.parse(out) as { result: { expressions: { value: unknown }[] }[] }).result[0]!.expressions[0]!.value === true;
}

describe("an unchanged HTTP authz policy governs http_request tool calls through a binding", () => {
  it("decides each step as opa eval does on the bound input, in a GovernedEnvironment", async () => {
    const binding = loadInputBinding(join(example, "binding.yaml"));
    const env = new GovernedEnvironment(kernel, { agentId: "bob", config: { maxSteps: 10, terminateOnCritical: false } });
    env.reset({ seed: 1 });
    const calls = [
      call("get", "https://hr.example.com/finance/salary/bob"),
      call("GET", "https://hr.example.com/finance/salary/alice"),
      call("get", "https://hr.example.com/finance/salary/dave"),
      call("post", "https://hr.example.com/finance/salary/bob"),
      call("get", "https://hr.example.com/finance/salary/%2e%2e/x/bob"),
    ];
    const seen: boolean[] = [];
    for (const action of calls) {
      const [, , , , info] = await env.step(action);
      const bound = bindInput(binding, action, { context: info.action.context, agentId: "bob" });
      if (!bound.bound) throw new Error(`not bound: ${bound.description}`);
      expect(info.decision.allowed, JSON.stringify(action.args)).toBe(opaAllows(bound.input));
      expect(info.blocked).toBe(!info.decision.allowed);
      seen.push(info.decision.allowed);
    }
    // Both answers occur: bob reads his own salary and his reports' (alice), nobody else's, and only with GET.
    expect(seen).toEqual([true, true, false, false, false]);
  }, 60_000);

  it("denies an action the binding does not cover, critically, instead of allowing it", async () => {
    const decision = await kernel.evaluate({ agentId: "bob", action: { type: "tool_call", tool: "shell", args: { command: "curl hr/finance" } } });
    expect(decision.allowed).toBe(false);
    expect(decision.violations).toEqual([expect.objectContaining({ policy: "kernel", rule: "unbound_action", severity: "critical" })]);
  });

  it("ships examples/http-authz/bundle.tar.gz exactly as policy-kernel build makes it from the policy", () => {
    // --no-git: the shipped example keeps its content revision (in a clone the default would name the commit).
    const args = [cli, "build", join(example, "policy"), "--entrypoint", entrypoint, "--out", join(example, "bundle.tar.gz"), "--no-git", "--check"];
    expect(execFileSync(process.execPath, args, { encoding: "utf8" })).toContain("is up to date");
  }, 60_000);

  it("names the revision of the one bundle that decided", async () => {
    const decision = await kernel.evaluate({ agentId: "bob", action: call("get", "https://hr/finance/salary/bob") });
    // Built from the repository's examples/: the sources' git commit, then the content hash (outside git, the hash alone).
    expect(decision.provenance.bundleRevision).toMatch(/^(git-[0-9a-f]{12}(-dirty)?-)?rego-[0-9a-f]{16}$/);
    expect(decision.provenance.bundleRevision).toBe(readBundle(bundle).manifest.revision);
  });

  it("refuses at load a binding that never gives the policy input.path", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pk-bound-bad-")), "binding.yaml");
    writeFileSync(file, "bindings:\n  - when: { type: tool_call, tool: http_request }\n    input:\n      method: { from: action.args.method }\n      user: { from: agentId }\n");
    await expect(createPolicyKernel({ opa: [{ bundle, entrypoints: [entrypoint], binding: file }] })).rejects.toThrow(/path/);
  });

  it("refuses at load a bundle built without a record of what the entrypoint reads", async () => {
    const bare = join(mkdtempSync(join(tmpdir(), "pk-bound-bare-")), "bare.tar.gz");
    execFileSync(opaPath(), ["build", "-t", "wasm", "-e", entrypoint, "-o", bare, join(example, "policy")], { stdio: "pipe" });
    await expect(createPolicyKernel({ opa: [{ bundle: bare, entrypoints: [entrypoint], binding: join(example, "binding.yaml") }] })).rejects.toThrow(
      /policy-kernel build .*--entrypoint httpapi\/authz\/allow/,
    );
  });

  it("checks a binding against a policy that reads the whole input: built by policy-kernel build, loaded, deciding as opa eval", async () => {
    // Reads `input` itself (every member must be a string), so opa deps has no paths to give.
    const dir = mkdtempSync(join(tmpdir(), "pk-bound-whole-"));
    writeFileSync(join(dir, "strings.rego"), 'package strict\n\nimport rego.v1\n\ndeny contains msg if {\n  some key, value in input\n  not is_string(value)\n  msg := sprintf("%s is not a string", [key])\n}\n');
    const whole = join(dir, "strict.tar.gz");
    execFileSync(process.execPath, [cli, "build", dir, "--entrypoint", "strict/deny", "--out", whole], { stdio: "pipe" });
    const binding = join(dir, "binding.yaml");
    writeFileSync(binding, "bindings:\n  - when: { type: tool_call, tool: http_request }\n    input:\n      method: { from: action.args.method }\n      user: { from: agentId }\n");
    const strict = await createPolicyKernel({ opa: [{ bundle: whole, entrypoints: ["strict/deny"], binding }] });
    try {
      const allowed = await strict.evaluate({ agentId: "alice", action: { type: "tool_call", tool: "http_request", args: { method: "GET", url: "/x" } } });
      expect(allowed.allowed).toBe(true);
      const denied = await strict.evaluate({ agentId: "alice", action: { type: "tool_call", tool: "http_request", args: { method: 7, url: "/x" } } });
      const input = join(dir, "input.json");
      writeFileSync(input, JSON.stringify({ method: 7, user: "alice" }));
      const opa = JSON.parse(execFileSync(opaPath(), ["eval", "-d", join(dir, "strings.rego"), "-i", input, "--format", "json", "data.strict.deny"], { encoding: "utf8" })) as { result: { expressions: { value: string[] }[] }[] };
      expect(denied.violations.map((v) => v.description)).toEqual(opa.result[0]!.expressions[0]!.value);
      expect(denied.violations.map((v) => v.description)).toEqual(["method is not a string"]);
    } finally {
      strict.close();
    }
  });

  it("runs the same from the CLI: exit 0 allowed, 2 denied, 1 for a binding with --raw-input", () => {
    const run = (action: unknown, extra: string[] = []): number => {
      const file = join(mkdtempSync(join(tmpdir(), "pk-bound-cli-")), "action.json");
      writeFileSync(file, JSON.stringify({ agentId: "alice", action }));
      try {
        execFileSync(process.execPath, [cli, "eval", "--bundle", bundle, "--entrypoint", entrypoint, "--binding", join(example, "binding.yaml"), ...extra, "--input", file], { stdio: "pipe" });
        return 0;
      } catch (error) {
        return (error as { status: number }).status;
      }
    };
    expect(run(call("get", "https://hr/finance/salary/alice"))).toBe(0);
    expect(run(call("get", "https://hr/finance/salary/bob"))).toBe(2);
    expect(run(call("get", "https://hr/finance/salary/alice"), ["--raw-input"])).toBe(1);
  }, 60_000);
});
