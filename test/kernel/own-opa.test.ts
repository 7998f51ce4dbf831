import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { Decision, Severity } from "../../src/schemas.js";
import { isPolicyKernelError } from "../../src/errors.js";
import { FlightRecorder } from "../../src/audit/flight-recorder.js";
import { canonicalJson } from "../../src/canonical-json.js";
import { buildOwnBundle, opaEvalPackage, type OwnOpaBundle } from "../helpers/own-opa.js";
import { currentCapabilities } from "../helpers/opa.js";

// Policies as their communities write them (an HTTP API allow, conftest deny/warn, a Gatekeeper
// template with parameters from data, METADATA severities), built by the pinned OPA, and decided
// by the kernel through the library and the CLI. What each entrypoint returns is what `opa eval`
// of the same OPA says, run here on every input: the kernel must allow exactly when no blocking
// entrypoint objects, and report every message OPA gives.

const AUTHZ = `package httpapi.authz

import rego.v1

default allow := false

# Employees read their own salary; admins (from data) anything.
allow if {
  input.method == "GET"
  input.path == ["finance", "salary", input.user]
}

allow if input.user in data.httpapi.admins
`;

const CONFTEST = `package main

import rego.v1

deny contains msg if {
  input.kind == "Deployment"
  not input.spec.template.spec.securityContext.runAsNonRoot
  msg := "Containers must not run as root"
}

deny contains {"msg": sprintf("image %s uses the latest tag", [c.image])} if {
  some c in input.spec.template.spec.containers
  endswith(c.image, ":latest")
}

deny_replicas contains msg if {
  input.spec.replicas > 10
  msg := sprintf("too many replicas: %d", [input.spec.replicas])
}

warn contains msg if {
  input.kind == "Service"
  msg := "Services of type LoadBalancer cost money"
}
`;

const GATEKEEPER = `package k8srequiredlabels

import rego.v1

violation contains {"msg": msg, "details": {"missing_labels": missing}} if {
  provided := {label | input.review.object.metadata.labels[label]}
  required := {label | some label in data.parameters.labels}
  missing := required - provided
  count(missing) > 0
  msg := sprintf("you must provide labels: %s", [concat(", ", sort(missing))])
}
`;

const PAYMENTS = `# METADATA
# title: Payments
# custom:
#   severity: High
package payments

import rego.v1

# METADATA
# scope: document
# description: transfers the treasury refuses
# custom:
#   severity: CRITICAL
#   penalty: 80

# METADATA
# title: over the limit
deny contains "amount over the limit" if input.amount > data.payments.limit

deny contains "unknown currency" if not input.currency in {"USD", "EUR"}

warn contains "large amount" if input.amount > 1000

# METADATA
# custom:
#   effect: warn
#   severity: low
deny_weekend contains "transfer on a weekend" if input.weekend
`;

/** One governing entrypoint: its package (as `data.` writes it), rule, and what the conventions and METADATA make of its findings. */
interface Governing {
  readonly entrypoint: string;
  readonly pkg: string;
  readonly rule: string;
  readonly boolean?: true;
  readonly blocks: boolean;
  readonly severity: Severity;
  readonly penalty: number;
}

const AUTHZ_ALLOW: Governing = { entrypoint: "httpapi/authz/allow", pkg: "httpapi.authz", rule: "allow", boolean: true, blocks: true, severity: "high", penalty: 50 };
const CONFTEST_ENTRYPOINTS: Governing[] = [
  { entrypoint: "main/deny", pkg: "main", rule: "deny", blocks: true, severity: "high", penalty: 50 },
  { entrypoint: "main/deny_replicas", pkg: "main", rule: "deny_replicas", blocks: true, severity: "high", penalty: 50 },
  { entrypoint: "main/warn", pkg: "main", rule: "warn", blocks: false, severity: "medium", penalty: 10 },
];
const GATEKEEPER_VIOLATION: Governing = { entrypoint: "k8srequiredlabels/violation", pkg: "k8srequiredlabels", rule: "violation", blocks: true, severity: "high", penalty: 50 };
// Document scope (CRITICAL, 80) over the package's High; warn inherits the package's High; the rule's own low warn.
const PAYMENTS_ENTRYPOINTS: Governing[] = [
  { entrypoint: "payments/deny", pkg: "payments", rule: "deny", blocks: true, severity: "critical", penalty: 80 },
  { entrypoint: "payments/warn", pkg: "payments", rule: "warn", blocks: false, severity: "high", penalty: 50 },
  { entrypoint: "payments/deny_weekend", pkg: "payments", rule: "deny_weekend", blocks: false, severity: "low", penalty: 1 },
];

let authz: OwnOpaBundle;
let conftest: OwnOpaBundle;
let gatekeeper: OwnOpaBundle;
let payments: OwnOpaBundle;
/** Two packages in each of two bundles: the Gatekeeper template with the payments policy, the authz with conftest's. */
let infra: OwnOpaBundle;
let money: OwnOpaBundle;

beforeAll(() => {
  authz = buildOwnBundle({ "authz.rego": AUTHZ, "httpapi/data.json": JSON.stringify({ admins: ["root"] }) }, [AUTHZ_ALLOW.entrypoint]);
  conftest = buildOwnBundle({ "policy/main.rego": CONFTEST }, CONFTEST_ENTRYPOINTS.map((g) => g.entrypoint));
  gatekeeper = buildOwnBundle({ "template.rego": GATEKEEPER, "parameters/data.json": JSON.stringify({ labels: ["team", "owner"] }) }, [GATEKEEPER_VIOLATION.entrypoint]);
  payments = buildOwnBundle({ "payments.rego": PAYMENTS, "payments/data.json": JSON.stringify({ limit: 5000 }) }, PAYMENTS_ENTRYPOINTS.map((g) => g.entrypoint));
  infra = buildOwnBundle({ "authz.rego": AUTHZ, "httpapi/data.json": JSON.stringify({ admins: ["root"] }), "main.rego": CONFTEST }, [AUTHZ_ALLOW, ...CONFTEST_ENTRYPOINTS].map((g) => g.entrypoint));
  money = buildOwnBundle(
    { "template.rego": GATEKEEPER, "parameters/data.json": JSON.stringify({ labels: ["team"] }), "payments.rego": PAYMENTS, "payments/data.json": JSON.stringify({ limit: 5000 }) },
    [GATEKEEPER_VIOLATION, ...PAYMENTS_ENTRYPOINTS].map((g) => g.entrypoint),
  );
});

/** What the kernel must decide, from `opa eval` of each governing entrypoint's package on `input`. */
function expectedFromOpa(sources: readonly { dir: string; governing: readonly Governing[] }[], input: unknown): { allowed: boolean; findings: string[] } {
  const findings: { text: string; blocks: boolean }[] = [];
  for (const { dir, governing } of sources) {
    const documents = new Map<string, Record<string, unknown>>();
    for (const g of governing) {
      if (!documents.has(g.pkg)) documents.set(g.pkg, opaEvalPackage(dir, g.pkg, input));
      const value = documents.get(g.pkg)![g.rule];
      const line = (description: string): { text: string; blocks: boolean } => ({ text: `${g.pkg}/${g.rule} ${g.severity} ${g.penalty} ${g.blocks} ${description}`, blocks: g.blocks });
      if (g.boolean) {
        if (value !== true) findings.push(line(`${g.entrypoint} is not true`));
        continue;
      }
      // A message, with its details as OPA gave them when the policy returns some (Gatekeeper's).
      const messages = value === undefined ? [] : (value as unknown[]).map((m) => (typeof m === "string" ? m : withDetails((m as { msg: string }).msg, (m as { details?: unknown }).details)));
      findings.push(...messages.map(line));
    }
  }
  return { allowed: !findings.some((f) => f.blocks), findings: findings.map((f) => f.text).sort() };
}

function summary(decision: Decision): { allowed: boolean; findings: string[] } {
  return {
    allowed: decision.allowed,
    findings: decision.violations.map((v) => `${v.policy}/${v.rule} ${v.severity} ${v.penalty} ${v.blocked} ${withDetails(v.description, v.details)}`).sort(),
  };
}

function withDetails(message: string, details: unknown): string {
  return details === undefined ? message : `${message} details=${canonicalJson(details)}`;
}


const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const scratch = mkdtempSync(join(tmpdir(), "pk-own-opa-cli-"));
let inputCount = 0;

function cliEval(args: string[], input: unknown): { code: number | null; stdout: string; stderr: string } {
  const file = join(scratch, `input-${inputCount++}.json`);
  writeFileSync(file, JSON.stringify(input));
  const result = spawnSync(process.execPath, [cli, "eval", ...args, "--raw-input", "--input", file], { encoding: "utf8", cwd: root });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Decides every input through the library and the CLI and holds both to `opa eval`; returns the decisions' `allowed`. */
async function decideAsOpa(bundle: OwnOpaBundle, governing: readonly Governing[], inputs: readonly unknown[]): Promise<boolean[]> {
  const kernel = await createPolicyKernel({ opa: [{ bundle: bundle.bundle, entrypoints: governing.map((g) => g.entrypoint) }], rawInput: true });
  const allowed: boolean[] = [];
  try {
    for (const input of inputs) {
      const expected = expectedFromOpa([{ dir: bundle.dir, governing }], input);
      const decision = await kernel.evaluateInput!(input);
      expect(summary(decision), JSON.stringify(input)).toEqual(expected);
      const run = cliEval(["--bundle", bundle.bundle, ...governing.flatMap((g) => ["--entrypoint", g.entrypoint])], input);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(expected.allowed ? 0 : 2);
      expect(summary(JSON.parse(run.stdout) as Decision)).toEqual(expected);
      allowed.push(decision.allowed);
    }
  } finally {
    kernel.close();
  }
  return allowed;
}

describe("your own OPA policies decide as opa eval does", () => {
  it("an HTTP API allow policy with admins from data", async () => {
    const inputs = [
      { method: "GET", path: ["finance", "salary", "alice"], user: "alice" },
      { method: "GET", path: ["finance", "salary", "bob"], user: "alice" },
      { method: "POST", path: ["finance", "salary", "alice"], user: "alice" },
      { method: "DELETE", path: ["anything"], user: "root" },
      {},
    ];
    // Both outcomes are exercised, not only denials.
    expect(await decideAsOpa(authz, [AUTHZ_ALLOW], inputs)).toEqual([true, false, false, true, false]);
  });

  it("a conftest policy: deny strings and {msg} objects block, warn does not", async () => {
    const container = (image: string) => ({ image });
    const deployment = (runAsNonRoot: boolean, images: string[], replicas = 2) => ({
      kind: "Deployment",
      spec: { replicas, template: { spec: { securityContext: { runAsNonRoot }, containers: images.map(container) } } },
    });
    const inputs = [deployment(true, ["nginx:1.27"]), deployment(false, ["nginx:latest", "redis:latest"], 12), deployment(true, ["app:1"], 11), { kind: "Service" }, { kind: "ConfigMap" }];
    expect(await decideAsOpa(conftest, CONFTEST_ENTRYPOINTS, inputs)).toEqual([true, false, false, true, true]);
  });

  it("a Gatekeeper template with its parameters in data", async () => {
    const review = (labels: Record<string, string>) => ({ review: { object: { metadata: { name: "x", labels } } } });
    const inputs = [review({ team: "a", owner: "b" }), review({ team: "a" }), review({}), { review: {} }];
    expect(await decideAsOpa(gatekeeper, [GATEKEEPER_VIOLATION], inputs)).toEqual([true, false, false, false]);
  });

  it("takes data merged over the bundle's, as Gatekeeper parameters would be", async () => {
    const kernel = await createPolicyKernel({ opa: [{ bundle: gatekeeper.bundle, entrypoints: [GATEKEEPER_VIOLATION.entrypoint] }], rawInput: true, data: { parameters: { labels: ["cost"] } } });
    try {
      const decision = await kernel.evaluateInput!({ review: { object: { metadata: { labels: { team: "a" } } } } });
      // Arrays are replaced, not merged: only the overriding list is required.
      expect(decision.violations.map((v) => v.description)).toEqual(["you must provide labels: cost"]);
      // Gatekeeper's details ride along into the Violation, as the template wrote them.
      expect(decision.violations.map((v) => v.details)).toEqual([{ missing_labels: ["cost"] }]);
    } finally {
      kernel.close();
    }
  });

  it("severity, effect and penalty from METADATA: document over package scope, a rule's own, CRITICAL and High in any case", async () => {
    const inputs = [
      { amount: 10, currency: "USD" },
      { amount: 9000, currency: "GBP" },
      { amount: 2000, currency: "EUR", weekend: true },
      { amount: 10, currency: "EUR", weekend: true },
    ];
    expect(await decideAsOpa(payments, PAYMENTS_ENTRYPOINTS, inputs)).toEqual([true, false, true, true]);
  });

  it("entrypoints of two packages in each of two bundles make one Decision", async () => {
    const governingInfra = [AUTHZ_ALLOW, ...CONFTEST_ENTRYPOINTS];
    const governingMoney = [GATEKEEPER_VIOLATION, ...PAYMENTS_ENTRYPOINTS];
    const kernel = await createPolicyKernel({
      opa: [
        { bundle: infra.bundle, entrypoints: governingInfra.map((g) => g.entrypoint) },
        { bundle: money.bundle, entrypoints: governingMoney.map((g) => g.entrypoint) },
      ],
      rawInput: true,
    });
    try {
      const inputs = [
        { user: "root", kind: "Service", amount: 2000, currency: "USD", review: { object: { metadata: { labels: { team: "t" } } } } },
        { user: "alice", kind: "Deployment", spec: { replicas: 20 }, amount: 9000, currency: "JPY", review: { object: { metadata: { labels: {} } } } },
      ];
      const allowed: boolean[] = [];
      for (const input of inputs) {
        const decision = await kernel.evaluateInput!(input);
        const expected = expectedFromOpa([{ dir: infra.dir, governing: governingInfra }, { dir: money.dir, governing: governingMoney }], input);
        expect(summary(decision)).toEqual(expected);
        allowed.push(decision.allowed);
      }
      expect(allowed).toEqual([true, false]);
      // Findings from all four packages are in the one denied Decision.
      const denied = await kernel.evaluateInput!(inputs[1]);
      expect([...new Set(denied.violations.map((v) => v.policy))].sort()).toEqual(["httpapi.authz", "k8srequiredlabels", "main", "payments"]);
      expect(denied.provenance.bundleSha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      kernel.close();
    }
  });

  it("records raw-input decisions in the trail, and decides the same input byte-identically", async () => {
    const recorder = new FlightRecorder();
    const kernel = await createPolicyKernel({ opa: [{ bundle: conftest.bundle, entrypoints: CONFTEST_ENTRYPOINTS.map((g) => g.entrypoint) }], rawInput: true, recorder });
    try {
      const input = { kind: "Deployment", spec: { replicas: 30, template: { spec: { containers: [{ image: "a:latest" }, { image: "b:latest" }] } } } };
      const first = JSON.stringify(await kernel.evaluateInput!(input));
      expect(JSON.stringify(await kernel.evaluateInput!(structuredClone(input)))).toBe(first);
      expect(recorder.entries()).toHaveLength(2);
      expect(recorder.entries()[0]).toMatchObject({ type: "policy_check", agentId: "(raw input)", action: { type: "raw_input", input } });
      expect(recorder.verify()).toMatchObject({ valid: true });
    } finally {
      kernel.close();
    }
  });

  it("never allows a hostile raw input: cycles, getters that change, oversize, non-JSON values, prototype keys", async () => {
    const kernel = await createPolicyKernel({ opa: [{ bundle: authz.bundle, entrypoints: [AUTHZ_ALLOW.entrypoint] }], rawInput: true, maxActionBytes: 64 * 1024 });
    try {
      const allowed = { method: "GET", path: ["finance", "salary", "alice"], user: "alice" };
      expect((await kernel.evaluateInput!(allowed)).allowed).toBe(true);
      const cyclic: Record<string, unknown> = { ...allowed };
      cyclic["self"] = cyclic;
      // "alice" on a first read (a check), "root" (an admin) on any later one.
      let reads = 0;
      const shifting = { method: "GET", path: ["finance", "salary", "alice"], get user() { return reads++ === 0 ? "alice" : "root"; } };
      const hostile: [string, unknown][] = [
        ["a cycle", cyclic],
        ["oversize", { ...allowed, pad: "x".repeat(100 * 1024) }],
        ["NaN", { ...allowed, score: Number.NaN }],
        ["a function", { ...allowed, user: () => "root" }],
        ["a BigInt", { ...allowed, n: 10n }],
        ["__proto__ carrying the fields", JSON.parse('{"__proto__": {"method": "GET", "path": ["finance", "salary", "root"], "user": "root"}}')],
        ["no object at all", "GET /finance/salary/root"],
      ];
      for (const [what, input] of hostile) {
        const decision = await kernel.evaluateInput!(input);
        expect(decision.allowed, what).toBe(false);
      }
      // An accessor is refused unread: there is no check-then-use window for a getter to exploit.
      const shifted = await kernel.evaluateInput!(shifting);
      expect(reads).toBe(0);
      expect(shifted.allowed).toBe(false);
      expect(shifted.violations[0]).toMatchObject({ policy: "kernel", severity: "critical" });
    } finally {
      kernel.close();
    }
  });

  it("the OPA policies judge agent actions too, beside the default library when it is named", async () => {
    const kernel = await createPolicyKernel({ opa: [{ bundle: authz.bundle, entrypoints: [{ path: "data.httpapi.authz.allow", severity: "Critical", policy: "authz" }] }] });
    try {
      const decision = await kernel.evaluate({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } });
      expect(decision.allowed).toBe(false);
      expect(decision.violations).toMatchObject([{ policy: "authz", rule: "allow", severity: "critical", description: "httpapi/authz/allow is not true" }]);
      await expect(kernel.evaluateInput!({})).rejects.toThrow(/evaluateInput needs a kernel built for raw input/);
    } finally {
      kernel.close();
    }
  });
});

describe("odd results from a real policy fail closed", () => {
  const ODD = `package odd

import rego.v1

deny_number contains 3
deny_nested contains {"inner"}
deny_proto contains json.unmarshal("{\\"__proto__\\": {\\"msg\\": \\"hidden\\"}}")
deny_msg_number contains {"msg": 5}
deny_huge contains sprintf("m%d", [i]) if some i in numbers.range(1, 10001)
allow := 1
allow_set contains true
decision := {"allow": true}
`;
  const entrypoints = ["odd/deny_number", "odd/deny_nested", "odd/deny_proto", "odd/deny_msg_number", "odd/deny_huge", "odd/allow", "odd/allow_set", "odd/decision"];

  it("denies every one, naming the entrypoint: never an allow", async () => {
    const odd = buildOwnBundle({ "odd.rego": ODD }, entrypoints);
    for (const entrypoint of entrypoints) {
      const kernel = await createPolicyKernel({ opa: [{ bundle: odd.bundle, entrypoints: [entrypoint] }], rawInput: true });
      try {
        const decision = await kernel.evaluateInput!({});
        expect(decision.allowed, entrypoint).toBe(false);
        expect(decision.violations).toHaveLength(1);
        expect(decision.violations[0]!.description).toContain(entrypoint);
        expect(decision.violations[0]!.description).toMatch(entrypoint.includes("allow") ? / is not true$/ : /^rego engine could not evaluate: unexpected result from entrypoint/);
      } finally {
        kernel.close();
      }
    }
  });
});

describe("policy-kernel test --raw-input", () => {
  it("runs case files whose inputs are the policies' input, expectations from opa eval", () => {
    const inputs = [{ method: "GET", path: ["finance", "salary", "alice"], user: "alice" }, { method: "GET", path: ["finance", "salary", "bob"], user: "alice" }];
    const cases = inputs.map((input, index) => {
      const expected = expectedFromOpa([{ dir: authz.dir, governing: [AUTHZ_ALLOW] }], input);
      return { description: `input ${index}`, input, expect: { allowed: expected.allowed, violations: expected.allowed ? [] : [{ policy: "httpapi.authz", rule: "allow", severity: "high" }] } };
    });
    const file = join(scratch, "cases.json");
    writeFileSync(file, JSON.stringify(cases));
    const run = spawnSync(process.execPath, [cli, "test", file, "--bundle", authz.bundle, "--entrypoint", AUTHZ_ALLOW.entrypoint, "--raw-input"], { encoding: "utf8", cwd: root });
    expect(run.stdout.trim()).toBe("2 passed, 0 failed");
    expect(run.status).toBe(0);
    // A wrong expectation fails: the runner really compares.
    writeFileSync(file, JSON.stringify([{ ...cases[0], expect: { allowed: false } }]));
    const failing = spawnSync(process.execPath, [cli, "test", file, "--bundle", authz.bundle, "--entrypoint", AUTHZ_ALLOW.entrypoint, "--raw-input"], { encoding: "utf8", cwd: root });
    expect(failing.stdout).toContain("0 passed, 1 failed");
    expect(failing.status).toBe(1);
  });
});

describe("a misconfigured OPA source is a load error, never every action denied", () => {
  it("names the entrypoint, the bundle and the entrypoints it has", async () => {
    const error = await createPolicyKernel({ opa: [{ bundle: conftest.bundle, entrypoints: ["main/deny", "main/denny"] }], rawInput: true }).catch((e: unknown) => e);
    expect(isPolicyKernelError(error, "invalid_config")).toBe(true);
    expect(String(error)).toContain(conftest.bundle);
    expect(String(error)).toContain('entrypoint "main/denny" is not in the bundle (it has: main/deny, main/deny_replicas, main/warn)');
  });

  it("exits 1 with one line from the CLI, for an unknown entrypoint, a bad bundle and --entrypoint without --bundle", () => {
    const runs = [
      cliEval(["--bundle", authz.bundle, "--entrypoint", "httpapi/authz/nope"], {}),
      cliEval(["--bundle", join(scratch, "missing.tar.gz"), "--entrypoint", "httpapi/authz/allow"], {}),
      cliEval(["--entrypoint", "httpapi/authz/allow"], {}),
    ];
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(runs[0]!.stderr).toMatch(/entrypoint "httpapi\/authz\/nope" is not in the bundle \(it has: httpapi\/authz\/allow\)/);
    expect(runs[1]!.stderr).toMatch(/missing\.tar\.gz: cannot read bundle/);
    expect(runs[2]!.stderr).toMatch(/--entrypoint needs the bundle it is in/);
  });

  it("refuses a bundle whose policy.wasm needs a builtin the host lacks, naming it", async () => {
    const capabilities = currentCapabilities();
    capabilities.builtins.push({ name: "custom.score", decl: { type: "function", args: [{ type: "string" }], result: { type: "number" } } });
    const scored = buildOwnBundle({ "p.rego": "package scored\n\nimport rego.v1\n\nallow if custom.score(input.name) > 1\n" }, ["scored/allow"], capabilities);
    const error = await createPolicyKernel({ opa: [{ bundle: scored.bundle, entrypoints: ["scored/allow"] }], rawInput: true }).catch((e: unknown) => e);
    expect(isPolicyKernelError(error, "invalid_bundle")).toBe(true);
    expect(String(error)).toContain("custom.score: OPA's Wasm leaves it to the host and this host does not implement it");
  });

  it("refuses rawInput with the default library or rules, and without OPA entrypoints", async () => {
    await expect(createPolicyKernel({ rawInput: true })).rejects.toThrow(/rawInput needs OPA entrypoints/);
    await expect(createPolicyKernel({ opa: [{ bundle: authz.bundle, entrypoints: ["httpapi/authz/allow"] }], rawInput: true, rules: ["rules"] })).rejects.toThrow(/rules reads agent actions/);
  });

  it("a raw-input kernel denies an action handed to evaluate, naming evaluateInput", async () => {
    const kernel = await createPolicyKernel({ opa: [{ bundle: authz.bundle, entrypoints: ["httpapi/authz/allow"] }], rawInput: true });
    try {
      const decision = await kernel.evaluate({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } });
      expect(decision).toMatchObject({ allowed: false, violations: [{ policy: "kernel", rule: "raw_input_kernel" }] });
    } finally {
      kernel.close();
    }
  });
});
