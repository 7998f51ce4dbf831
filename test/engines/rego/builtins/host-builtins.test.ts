import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../../../src/kernel/create-kernel.js";
import { createRegoEngine } from "../../../../src/engines/rego/rego-engine.js";
import { readBundle } from "../../../../src/engines/rego/bundle.js";
import { isPolicyKernelError } from "../../../../src/errors.js";
import type { PolicyInput } from "../../../../src/schemas.js";
import { opaPath } from "../../../helpers/opa.js";

/** Writes Rego files into a fresh folder and builds them with the pinned OPA; returns the folder and bundle. */
function build(files: Record<string, string>, entrypoint: string): { dir: string; bundle: string } {
  const dir = mkdtempSync(join(tmpdir(), "pk-host-builtins-"));
  mkdirSync(join(dir, "rego"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, "rego", name), text);
  const bundle = join(dir, "bundle.tar.gz");
  execFileSync(opaPath(), ["build", "-t", "wasm", "-e", entrypoint, "-o", bundle, join(dir, "rego")], { stdio: ["ignore", "pipe", "pipe"] });
  return { dir, bundle };
}

/** `opa eval` of the pinned OPA over the folder's Rego, with `input`. */
function opaEval(dir: string, query: string, input: unknown): unknown {
  writeFileSync(join(dir, "input.json"), JSON.stringify(input));
  const out = JSON.parse(execFileSync(opaPath(), ["eval", "-f", "json", "-d", join(dir, "rego"), "-i", join(dir, "input.json"), query], { encoding: "utf8" })) as {
    result?: Array<{ expressions: Array<{ value: unknown }> }>;
  };
  return out.result?.[0]?.expressions[0]?.value;
}

const input = (action: Record<string, unknown>, context: Record<string, unknown> = {}): PolicyInput =>
  ({ agentId: "agent-1", action, context, facts: {} }) as unknown as PolicyInput;

// conftest's everyday policy: its messages use %q and %v, which the SDK's sprintf-js gets wrong.
const CONFTEST = `package main

deny contains msg if {
	input.kind == "Deployment"
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("Containers must not run as root in Deployment %q", [input.metadata.name])
}

deny contains msg if {
	some container in input.spec.template.spec.containers
	not startswith(container.image, "registry.internal/")
	msg := sprintf("image %q of container %v is not from the internal registry (labels: %v)", [container.image, container.name, input.metadata.labels])
}
`;

// The kernel's convention, around the conftest policy unchanged: each message is one violation.
const WRAPPER = `package kernel

violations contains v if {
	some msg in data.main.deny with input as input.action.manifest
	v := {"policy": "conftest", "rule": "deny", "severity": "high", "effect": "block", "description": msg}
}
`;

describe("conftest's sprintf(\"%q\", ...) decides as OPA does", () => {
  const { dir, bundle } = build({ "main.rego": CONFTEST, "kernel.rego": WRAPPER }, "kernel/violations");
  const manifests = [
    { kind: "Deployment", metadata: { name: "web", labels: { app: "web", tier: 1 } }, spec: { template: { spec: { containers: [{ name: "nginx", image: "nginx:1.27" }] } } } },
    { kind: "Deployment", metadata: { name: 'quote"d', labels: {} }, spec: { template: { spec: { securityContext: { runAsNonRoot: true }, containers: [{ name: "app", image: "registry.internal/app:1" }] } } } },
    { kind: "Deployment", metadata: { name: "tab\there", labels: { "a b": [1, 2.5, null] } }, spec: { template: { spec: { containers: [{ name: "é", image: "docker.io/x" }] } } } },
  ];

  it.each(manifests.map((manifest, index) => [index, manifest] as const))("manifest %i: the same messages as opa eval", async (_index, manifest) => {
    const engine = await createRegoEngine({ bundle: readBundle(bundle) });
    const descriptions = (await engine.evaluate(input({ type: "k8s_apply", manifest }))).map((finding) => finding.description).sort();
    const expected = [...((opaEval(dir, "data.main.deny", manifest) as string[] | undefined) ?? [])].sort();
    expect(descriptions).toEqual(expected);
    engine.close();
  });

  it("the first manifest is denied with a quoted name (not the SDK's `unexpected placeholder`)", async () => {
    const engine = await createRegoEngine({ bundle: readBundle(bundle) });
    const descriptions = (await engine.evaluate(input({ type: "k8s_apply", manifest: manifests[0] }))).map((finding) => finding.description);
    expect(descriptions).toContain('Containers must not run as root in Deployment "web"');
  });
});

describe("builtins the kernel will not run are refused at load", () => {
  const cases = [
    ["http.send", 'http.send({"method": "GET", "url": input.action.url}).status_code == 200', "non-deterministic (it reads the network)"],
    ["rand.intn", 'rand.intn("dice", 6) == 0', "non-deterministic (it reads randomness)"],
    ["uuid.rfc4122", 'uuid.rfc4122("id") != ""', "non-deterministic (it reads randomness)"],
    ["net.lookup_ip_addr", 'count(net.lookup_ip_addr("example.com")) > 0', "non-deterministic (it reads DNS)"],
    ["crypto.x509.parse_certificates", "count(crypto.x509.parse_certificates(input.action.pem)) > 0", "this host does not implement it"],
  ] as const;

  it.each(cases)("%s", async (builtin, condition, why) => {
    const rego = `package kernel\n\nviolations contains v if {\n\t${condition}\n\tv := {"policy": "p", "rule": "r", "severity": "low", "effect": "warn", "description": "x"}\n}\n`;
    const { bundle } = build({ "kernel.rego": rego }, "kernel/violations");
    const error = await createPolicyKernel({ bundle, rules: false }).catch((e: unknown) => e);
    expect(isPolicyKernelError(error, "invalid_bundle")).toBe(true);
    expect(String(error)).toContain(`${builtin}: `);
    expect(String(error)).toContain(why);
    expect(String(error)).toContain(bundle);
  });
});

describe("the CLI", () => {
  it("exits 1 on a bundle calling http.send, naming it (a load error, not every action denied)", () => {
    const rego = `package kernel\n\nviolations contains v if {\n\thttp.send({"method": "GET", "url": "https://example.com"}).status_code != 200\n\tv := {"policy": "p", "rule": "r", "severity": "low", "effect": "warn", "description": "x"}\n}\n`;
    const { dir, bundle } = build({ "kernel.rego": rego }, "kernel/violations");
    writeFileSync(join(dir, "action.json"), JSON.stringify({ agentId: "agent-1", action: { type: "sql", sql: "SELECT 1" } }));
    const cli = join(import.meta.dirname, "..", "..", "..", "..", "dist", "src", "cli", "main.js");
    const run = spawnSync(process.execPath, [cli, "eval", "--bundle", bundle, "--input", join(dir, "action.json")], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("http.send: non-deterministic (it reads the network)");
  });
});

describe("time.now_ns() reads the evaluation's logical time", () => {
  const rego = `package kernel

violations contains v if {
	[y, m, d] := time.date(time.now_ns())
	[h, mi, s] := time.clock(time.now_ns())
	# The nanoseconds are computed in the Wasm, exactly (a number past 2^53 reaches sprintf rounded).
	nanos := time.now_ns() % 1000000000
	v := {"policy": "clock", "rule": "now", "severity": "low", "effect": "warn", "description": sprintf("%d-%d-%d %d:%d:%d.%09d %s", [y, m, d, h, mi, s, nanos, time.weekday(time.now_ns())])}
}
`;
  const { bundle } = build({ "kernel.rego": rego }, "kernel/violations");
  // What the policy prints, computed here from the same instants.
  const expected = (iso: string, extraNanos: bigint): string => {
    const date = new Date(iso);
    const weekday = date.toLocaleDateString("en-US", { weekday: "long", timeZone: "UTC" });
    const clock = `${date.getUTCHours()}:${date.getUTCMinutes()}:${date.getUTCSeconds()}.${String(extraNanos).padStart(9, "0")}`;
    return `${date.getUTCFullYear()}-${date.getUTCMonth() + 1}-${date.getUTCDate()} ${clock} ${weekday}`;
  };

  it("is the decision's `now`, to the nanosecond, and changes with it", async () => {
    const kernel = await createPolicyKernel({ bundle, rules: false });
    const action = { agentId: "agent-1", action: { type: "sql", sql: "SELECT 1" } };
    const first = await kernel.evaluate(action, { now: "2026-11-21T10:00:00.123456789Z" });
    const second = await kernel.evaluate(action, { now: new Date("1999-12-31T23:59:59Z") });
    expect(first.violations.map((v) => v.description)).toEqual([expected("2026-11-21T10:00:00Z", 123_456_789n)]);
    expect(second.violations.map((v) => v.description)).toEqual([expected("1999-12-31T23:59:59Z", 0n)]);
    kernel.close();
  });

  it("without a logical time the evaluation fails, so the decision is denied (never the wall clock)", async () => {
    const kernel = await createPolicyKernel({ bundle, rules: false });
    const decision = await kernel.evaluate({ agentId: "agent-1", action: { type: "sql", sql: "SELECT 1" } });
    expect(decision.allowed).toBe(false);
    expect(decision.violations.map((v) => v.description).join("\n")).toContain("time.now_ns: this evaluation has no logical time");
    // The failure thrown through the Wasm leaves the instance usable for the next decision.
    const next = await kernel.evaluate({ agentId: "agent-1", action: { type: "sql", sql: "SELECT 1" } }, { now: "2026-11-21T10:00:00Z" });
    expect(next.violations.map((v) => v.description)).toEqual([expected("2026-11-21T10:00:00Z", 0n)]);
    kernel.close();
  });
});
