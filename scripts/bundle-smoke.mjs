#!/usr/bin/env node
// Loads a built bundle in @open-policy-agent/opa-wasm exactly as the kernel will
// (policy.wasm + data.json, entrypoint kernel/violations, one call per input),
// checks that the Wasm needs no host-implemented builtins (those run in JS and
// may format differently from OPA's Go builtins), and evaluates sample inputs.
//
//   node scripts/bundle-smoke.mjs [--quiet] [bundle/default.tar.gz]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPolicy } from "@open-policy-agent/opa-wasm";

const args = process.argv.slice(2);
const quiet = args.includes("--quiet");
const bundle = args.find((a) => !a.startsWith("--")) ?? "bundle/default.tar.gz";

const facts = (extra = {}) => ({ costUsdTotal: 0, writes: false, ...extra });
const stmt = (ordinal, kind, where = null) => ({ ordinal, kind, tables: [], functions: [], where, writes: kind !== "SELECT", dialect: "postgres" });

/** Sample inputs and the [policy, rule] pairs each must produce, sorted. */
const CASES = [
  {
    name: "clean SELECT",
    input: { agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { role: "analyst" },
      facts: facts({ sql: { dialect: "any", statements: [stmt(1, "SELECT")], readOnly: true } }) },
    expect: [],
  },
  {
    name: "SELECT; DROP TABLE; DELETE without WHERE",
    input: { agentId: "a", action: { type: "sql", sql: "SELECT 1; DROP TABLE t; DELETE FROM u" }, context: {},
      facts: facts({ sql: { dialect: "any", statements: [stmt(1, "SELECT"), stmt(2, "DROP TABLE"), stmt(3, "DELETE", "none")], readOnly: false }, writes: true }) },
    expect: [["sql", "denied_statement"], ["sql", "missing_where"]],
  },
  {
    name: "unparseable SQL over budget",
    input: { agentId: "a", action: { type: "sql", sql: "SELECT 'x" }, context: { costUsd: 90, spentUsd: 20 },
      facts: facts({ sql: { dialect: "any", statements: [], error: "unterminated string literal", readOnly: false }, costUsdTotal: 110 }) },
    expect: [["cost", "budget_exceeded"], ["sql", "unparseable"]],
  },
  {
    name: "tool not allowed for support",
    input: { agentId: "a", action: { type: "tool_call", tool: "issue_refund", args: {} }, context: { role: "support" }, facts: facts() },
    expect: [["tools", "tool_not_allowed"]],
  },
  {
    name: "tool call without role",
    input: { agentId: "a", action: { type: "tool_call", tool: "search_docs" }, context: {}, facts: facts() },
    expect: [["tools", "unknown_role"]],
  },
  {
    name: "PII to external recipient",
    input: { agentId: "a", action: { type: "message", to: "eve@gmail.com", text: "card 4111-1111-1111-1111, ssn 123-45-6789" },
      context: {}, facts: facts({ message: { recipientDomains: ["gmail.com"], unparseableRecipient: false, pii: ["card_number", "ssn"] } }) },
    expect: [["pii", "external_recipient"]],
  },
  {
    name: "PII to internal subdomain",
    input: { agentId: "a", action: { type: "message", to: "ops@eu.example.com", text: "mail bob@corp.io" }, context: {},
      facts: facts({ message: { recipientDomains: ["eu.example.com"], unparseableRecipient: false, pii: ["email"] } }) },
    expect: [["pii", "internal_recipient"]],
  },
  {
    name: "transaction needing approval at 20:00 UTC",
    input: { agentId: "a", action: { type: "transaction", amountUsd: 500, recipient: "acct" },
      context: { role: "support", now: "2026-11-20T20:00:00Z" },
      facts: facts({ clock: { minuteOfDayUtc: 1200, weekdayUtc: 5 }, writes: true }) },
    expect: [["business_hours", "outside_business_hours"], ["transactions", "approval_required"]],
  },
  {
    name: "transaction over the default limit",
    input: { agentId: "a", action: { type: "transaction", amountUsd: 300.5, recipient: "acct" }, context: {}, facts: facts({ writes: true }) },
    expect: [["transactions", "over_role_limit"]],
  },
  {
    name: "data without config.sql fails closed",
    data: (d) => ({ policy_kernel: { ...d.policy_kernel, config: { ...d.policy_kernel.config, sql: undefined } } }),
    input: { agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: {},
      facts: facts({ sql: { dialect: "any", statements: [stmt(1, "SELECT")], readOnly: true } }) },
    expect: [["kernel", "missing_config"]],
  },
  {
    name: "disabled policy is skipped",
    data: (d) => ({ policy_kernel: { ...d.policy_kernel, disabled: { sql: true } } }),
    input: { agentId: "a", action: { type: "sql", sql: "DROP TABLE t" }, context: {},
      facts: facts({ sql: { statements: [stmt("DROP", "TABLE")], readOnly: false }, writes: true }) },
    expect: [],
  },
];

/** Host builtins the Wasm module imports (name -> id); {} when all are native. */
function hostBuiltins(policy) {
  const ex = policy.wasmInstance.exports;
  const addr = ex.opa_json_dump(ex.builtins());
  const bytes = new Uint8Array(policy.mem.buffer);
  let end = addr;
  while (bytes[end] !== 0) end++;
  return JSON.parse(new TextDecoder().decode(bytes.subarray(addr, end)));
}

const dir = mkdtempSync(join(tmpdir(), "bundle-smoke-"));
let failures = 0;
try {
  execFileSync("tar", ["-xzf", bundle, "-C", dir], { stdio: "pipe" }); // stderr only on failure
  const manifest = JSON.parse(readFileSync(join(dir, ".manifest"), "utf8"));
  const data = JSON.parse(readFileSync(join(dir, "data.json"), "utf8"));
  const policy = await loadPolicy(readFileSync(join(dir, "policy.wasm")));

  const host = Object.keys(hostBuiltins(policy));
  if (host.length > 0) {
    console.error(`bundle-smoke: policy.wasm needs host builtins (${host.join(", ")}); use Wasm-native builtins only`);
    failures++;
  }
  if (!quiet) console.log(`bundle ${bundle}: revision ${manifest.revision}, entrypoints ${JSON.stringify(policy.entrypoints)}`);

  for (const c of CASES) {
    // setData replaces all data (JSON.stringify drops the undefined keys).
    policy.setData(c.data ? JSON.parse(JSON.stringify(c.data(data))) : data);
    const resultSet = policy.evaluate(c.input, "kernel/violations");
    const violations = resultSet?.[0]?.result;
    const got = Array.isArray(violations)
      ? violations.map((v) => [v.policy, v.rule]).sort((a, b) => (a.join("/") < b.join("/") ? -1 : 1))
      : null;
    const ok = JSON.stringify(got) === JSON.stringify(c.expect);
    if (!ok) failures++;
    if (!quiet || !ok) {
      console.log(`${ok ? "ok  " : "FAIL"} ${c.name}`);
      console.log(`     ${JSON.stringify(resultSet)}`);
      if (!ok) console.log(`     expected ${JSON.stringify(c.expect)}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`bundle-smoke: ${failures} problem(s) with ${bundle}`);
  process.exit(1);
}
console.log(`bundle-smoke: ${bundle} loads in opa-wasm, needs no host builtins, ${CASES.length} sample decisions as expected`);
