import { describe, expect, it } from "vitest";
import { CONVENTION_DEFAULTS, conventionHint, findingsOf, MAX_MESSAGES, packageOf } from "../../../src/engines/opa/conventions.js";
import { isPolicyKernelError } from "../../../src/errors.js";
import { MAX_DETAILS_BYTES, MAX_DETAILS_DEPTH } from "../../../src/violation-details.js";

// The result sets here are what OPA's Wasm returns (`[]` undefined, `[{result}]` otherwise); the
// bundles that produce real ones are in test/kernel/own-opa.test.ts.
const stamp = { policy: "pkg", rule: "r" };
const one = (result: unknown): unknown => [{ result }];

/** Findings, or "error: <message>" when reading failed as it must: an engine error the kernel turns into a denial. */
function read(entrypoint: string, resultSet: unknown, convention?: Parameters<typeof findingsOf>[2]): ReturnType<typeof findingsOf> | string {
  try {
    return findingsOf(entrypoint, resultSet, convention, stamp);
  } catch (error) {
    if (!isPolicyKernelError(error, "engine_error")) throw error;
    return `error: ${error.message}`;
  }
}

describe("result conventions", () => {
  it("takes the convention from the rule's name", () => {
    expect(["a/allow", "a/allow_read", "main/deny", "main/deny_tags", "k/violation", "k/violation_x", "main/warn", "main/warn_y", "kernel/violations", "a/decision"].map(conventionHint)).toEqual([
      "boolean", "boolean", "deny", "deny", "deny", "deny", "warn", "warn", "violations", undefined,
    ]);
    expect(packageOf("httpapi/authz/allow")).toBe("httpapi.authz");
  });

  it("reads a boolean: only true allows; false, undefined and anything else is one violation", () => {
    expect(read("a/allow", one(true))).toEqual([]);
    for (const resultSet of [one(false), [], one("true"), one(1), one([true]), one({ allow: true }), one(null)]) {
      const findings = read("a/allow", resultSet);
      expect(findings).toEqual([{ ...stamp, ...CONVENTION_DEFAULTS.boolean, description: "a/allow is not true" }]);
    }
  });

  it("reads conftest messages: deny blocks, warn does not, objects {msg} too", () => {
    expect(read("main/deny", one(["b", { msg: "a", details: { n: 1 } }]))).toEqual([
      { ...stamp, severity: "high", effect: "block", description: "b" },
      { ...stamp, severity: "high", effect: "block", description: "a", details: { n: 1 } },
    ]);
    expect(read("main/warn", one(["w"]))).toEqual([{ ...stamp, severity: "medium", effect: "warn", description: "w" }]);
    expect(read("main/deny", one([]))).toEqual([]);
    expect(read("main/deny", [])).toEqual([]);
  });

  it("reads Gatekeeper violations, and refuses bare strings when told the convention is gatekeeper", () => {
    expect(read("k/violation", one([{ msg: "missing labels", details: { missing: ["team"] } }]))).toEqual([{ ...stamp, severity: "high", effect: "block", description: "missing labels", details: { missing: ["team"] } }]);
    expect(read("k/check", one(["x"]), "gatekeeper")).toMatch(/^error: .*k\/check: \[0\]: expected an object \{msg, details\?\}, got string/);
  });

  it("carries Gatekeeper details bounded: a payload that is not plain JSON or is too large becomes a note, the finding stays", () => {
    const [big] = findingsOf("k/violation", one([{ msg: "m", details: { blob: "x".repeat(MAX_DETAILS_BYTES) } }]), undefined, stamp);
    expect(big?.details).toEqual({ omitted: expect.stringMatching(/^details of \d+ bytes, over the 8192 a violation carries$/) });
    expect(big?.effect).toBe("block");
    const hostile = JSON.parse('[{"msg":"m","details":{"__proto__":{"polluted":true}}}]') as unknown;
    const [proto] = findingsOf("k/violation", one(hostile as unknown[]), undefined, stamp);
    expect(proto?.details).toEqual({ omitted: expect.stringContaining("without __proto__") });
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    let deep: unknown = "leaf";
    for (let i = 0; i < MAX_DETAILS_DEPTH + 1; i++) deep = [deep];
    expect(findingsOf("k/violation", one([{ msg: "m", details: deep }]), undefined, stamp)[0]?.details).toEqual({ omitted: expect.stringContaining(`at most ${MAX_DETAILS_DEPTH} levels`) });
    const [kept] = findingsOf("k/violation", one([{ msg: "m", details: { n: 1 } }]), undefined, stamp);
    expect(Object.isFrozen(kept?.details)).toBe(true);
  });

  it("keeps the project's typed findings as they are", () => {
    const finding = { policy: "p", rule: "q", severity: "low", effect: "warn", description: "d" };
    expect(read("kernel/violations", one([finding]))).toEqual([finding]);
  });

  it("weights findings as configured", () => {
    expect(findingsOf("a/deny", one(["x"]), undefined, { policy: "p", rule: "q", severity: "critical", effect: "warn", penalty: 7 })).toEqual([
      { policy: "p", rule: "q", severity: "critical", effect: "warn", description: "x", penalty: 7 },
    ]);
  });

  it("never allows on an odd result: an error naming the entrypoint and the shape", () => {
    const proto = JSON.parse('[{"__proto__": {"msg": "hidden"}}]') as unknown;
    const cases: [string, unknown, RegExp][] = [
      ["main/deny", one(3), /main\/deny: expected a set of messages \(deny\), got number/],
      ["main/deny", one([["nested"]]), /\[0\]: expected a string or an object \{msg\}, got an array of 1/],
      ["main/deny", one([{ msg: 5 }]), /\[0\]\.msg: expected a string message, got number/],
      ["main/deny", one([{ message: "x" }]), /\[0\]\.msg: expected a string message/],
      ["main/deny", one(proto), /\[0\]\.msg: expected a string message/],
      ["main/deny", one(Array.from({ length: MAX_MESSAGES + 1 }, (_, i) => `m${i}`)), /10001 messages, more than the 10000/],
      ["main/deny", [{ result: ["a"] }, { result: ["b"] }], /expected at most one result/],
      ["main/deny", { result: [] }, /expected at most one result, got object/],
      ["main/deny", [{ value: [] }], /expected a result, got object/],
      ["pkg/decision", one({ allow: true }), /pkg\/decision: expected a boolean or a set of messages, got object/],
      ["pkg/decision", one(7), /got number/],
      ["kernel/violations", one([{ policy: "p" }]), /kernel\/violations/],
    ];
    for (const [entrypoint, resultSet, message] of cases) expect(read(entrypoint, resultSet)).toMatch(message);
  });
});
