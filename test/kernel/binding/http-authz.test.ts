import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { loadPolicy as LoadPolicy } from "@open-policy-agent/opa-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { readBundle, type PolicyBundle } from "../../../src/engines/rego/bundle.js";
import { bindInput } from "../../../src/kernel/binding/bind.js";
import { assertBindingFeeds, checkBinding } from "../../../src/kernel/binding/check.js";
import { loadCheckedBinding } from "../../../src/kernel/binding/checked-binding.js";
import { entrypointInputPaths, inputPathsOfEntrypoint } from "../../../src/kernel/binding/entrypoint-paths.js";
import { parseInputBinding } from "../../../src/kernel/binding/load.js";
import { isPolicyKernelError } from "../../../src/errors.js";
import { buildFixtureBundle, opaPath } from "../../helpers/opa.js";

const { loadPolicy } = createRequire(import.meta.url)("@open-policy-agent/opa-wasm") as { loadPolicy: typeof LoadPolicy };
const root = join(import.meta.dirname, "..", "..", "..");

// An HTTP API authorization policy as platform teams write it (OPA's HTTP API tutorial), unchanged.
const AUTHZ = `package httpapi.authz

default allow := false

allow if {
	input.method == "GET"
	input.path == ["finance", "salary", input.user]
}
`;
const ENTRYPOINT = "httpapi/authz/allow";

const BINDING = parseInputBinding({
  bindings: [
    {
      when: { type: "tool_call", tool: "http_request" },
      input: {
        method: { from: "action.args.method", upper: true },
        path: { from: "action.args.url", url: "segments" },
        user: { from: "context.role" },
      },
    },
  ],
});

/**
 * Builds `dir` (holding policy/) as scripts/build-bundle.sh does: a first build whose modules are
 * hashed, its build record (scripts/build-record.mjs) computed for `entrypoint`, a final build
 * carrying it in data.json (the folder has none: build-record.mjs then writes the record alone).
 */
function buildWithRecord(opa: string, dir: string, entrypoint: string): string {
  const build = (cwd: string, out: string): void => {
    execFileSync(opa, ["build", "-t", "wasm", "--prune-unused", "-e", entrypoint, "-r", "binding-test", "-o", out, "policy/"], { cwd, stdio: "pipe" });
  };
  const work = mkdtempSync(join(tmpdir(), "pk-binding-build-"));
  build(dir, join(work, "first.tar.gz"));
  mkdirSync(join(work, "first"));
  execFileSync("tar", ["-xzf", join(work, "first.tar.gz"), "-C", join(work, "first")], { stdio: "pipe" });
  const final = join(work, "final");
  mkdirSync(join(final, "policy"), { recursive: true });
  writeFileSync(join(final, "policy", "authz.rego"), AUTHZ);
  execFileSync(
    "node",
    [join(root, "scripts", "build-record.mjs"), "--opa", opa, "--src", join(dir, "policy"), "--entrypoint", entrypoint, "--modules", join(work, "first"), "--data-out", join(final, "policy", "data.json")],
    { stdio: "pipe" },
  );
  build(final, join(work, "bundle.tar.gz"));
  return join(work, "bundle.tar.gz");
}

/** `opa eval` of the source policy on `input`: the answer the binding's input must get. */
function opaEval(opa: string, source: string, input: unknown): unknown {
  const out = execFileSync(opa, ["eval", "--format", "json", "-d", source, "--stdin-input", `data.${ENTRYPOINT.split("/").join(".")}`], { input: JSON.stringify(input), encoding: "utf8" });
  const result = JSON.parse(out) as { result?: Array<{ expressions: Array<{ value: unknown }> }> };
  return result.result?.[0]?.expressions[0]?.value;
}

describe("an HTTP authz policy governing agent http_request tool calls through a binding", () => {
  let opa: string;
  let source: string;
  let bundle: PolicyBundle;

  beforeAll(() => {
    opa = opaPath();
    const dir = mkdtempSync(join(tmpdir(), "pk-binding-src-"));
    mkdirSync(join(dir, "policy"));
    writeFileSync(join(dir, "policy", "authz.rego"), AUTHZ);
    source = join(dir, "policy");
    bundle = readBundle(buildWithRecord(opa, dir, ENTRYPOINT));
  }, 120_000);

  it("reads what the entrypoint reads from the bundle's build record", () => {
    expect(inputPathsOfEntrypoint(bundle, ENTRYPOINT)).toEqual([["method"], ["path"], ["user"]]);
    expect(inputPathsOfEntrypoint(bundle, "httpapi/authz/other")).toBeUndefined();
    expect(checkBinding(BINDING, entrypointInputPaths(bundle, [ENTRYPOINT]))).toEqual([]);
  });

  it("decides each tool call on the bound input exactly as opa eval does", async () => {
    const policy = await loadPolicy(bundle.wasm);
    policy.setData(bundle.data);
    const calls: Array<{ role: string; args: Record<string, unknown> }> = [
      { role: "alice", args: { method: "get", url: "https://hr.example.com/finance/salary/alice" } },
      { role: "alice", args: { method: "GET", url: "/finance/salary/bob" } },
      { role: "alice", args: { method: "POST", url: "/finance/salary/alice" } },
      { role: "bob", args: { method: "GET", url: "/finance/salary/../salary/bob?year=2026" } },
      { role: "bob", args: { method: "GET", url: "/finance/salary/b%6Fb/" } },
      { role: "bob", args: { method: "GET", url: "/finance/salary" } },
    ];
    const decisions: unknown[] = [];
    for (const { role, args } of calls) {
      const bound = bindInput(BINDING, { type: "tool_call", tool: "http_request", args }, { context: { role } });
      if (!bound.bound) throw new Error(bound.description);
      const wasm = policy.evaluate(bound.input, ENTRYPOINT) as Array<{ result: unknown }>;
      expect(wasm[0]?.result, JSON.stringify(bound.input)).toBe(opaEval(opa, source, bound.input));
      decisions.push(wasm[0]?.result);
    }
    // Both answers occur, so the comparison above is not of one constant.
    expect(new Set(decisions)).toEqual(new Set([true, false]));
  });

  it("refuses at load a binding that never gives the path the policy reads", () => {
    const noPath = parseInputBinding({
      bindings: [{ when: { type: "tool_call", tool: "http_request" }, input: { method: { from: "action.args.method" }, user: { from: "context.role" } } }],
    });
    const paths = entrypointInputPaths(bundle, [ENTRYPOINT]);
    expect(checkBinding(noPath, paths)).toMatchObject([{ entrypoint: ENTRYPOINT, missing: ["input.path"], gives: ["input.method", "input.user"] }]);
    let error: unknown;
    try {
      assertBindingFeeds(noPath, paths, "binding.yaml");
    } catch (caught) {
      error = caught;
    }
    expect(isPolicyKernelError(error, "invalid_config")).toBe(true);
    expect((error as Error).message).toContain(
      "binding.yaml: the input binding cannot feed the policy: httpapi/authz/allow reads input.method, input.path, input.user; the binding for type tool_call, tool http_request gives input.method, input.user, never input.path",
    );
  });

  it("loads a binding file only when it can feed the bundle's entrypoint", () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-binding-file-"));
    const good = join(dir, "good.json");
    const bad = join(dir, "bad.yaml");
    writeFileSync(good, JSON.stringify(BINDING));
    writeFileSync(bad, ["bindings:", "  - when: { type: tool_call, tool: http_request }", "    input:", "      method: { from: action.args.method }", "      user: { from: context.role }", ""].join("\n"));
    expect(loadCheckedBinding(good, bundle, [ENTRYPOINT])).toEqual(BINDING);
    expect(() => loadCheckedBinding(bad, bundle, [ENTRYPOINT])).toThrow(`${bad}: the input binding cannot feed the policy: httpapi/authz/allow reads input.method, input.path, input.user;`);
  });

  it("refuses to guess for a bundle without a record, and asks opa deps when given the sources", () => {
    const bare = readBundle(buildFixtureBundle(source, { entrypoint: ENTRYPOINT }));
    expect(inputPathsOfEntrypoint(bare, ENTRYPOINT)).toBeUndefined();
    expect(() => entrypointInputPaths(bare, [ENTRYPOINT])).toThrow(`policy-kernel build DIR --out BUNDLE --entrypoint ${ENTRYPOINT}`);
    expect(entrypointInputPaths(bare, [ENTRYPOINT], { opa, sources: [source] })).toEqual(entrypointInputPaths(bundle, [ENTRYPOINT]));
    expect(() => entrypointInputPaths(bare, ["httpapi/authz/nope"], { opa, sources: [source] })).toThrow("entrypoint httpapi/authz/nope is not a rule of the sources");
  });
});
