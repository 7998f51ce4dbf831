import { describe, expect, it } from "vitest";
import { actionSha256, frozenCopy, frozenCopySize, isFrozenCopy, MAX_ACTION_DEPTH } from "../../src/kernel/frozen-action.js";
import { canonicalJson, sha256Hex } from "../../src/canonical-json.js";

const refusal = (value: unknown, maxBytes?: number) => {
  const result = frozenCopy(value, maxBytes);
  if (result.ok) throw new Error("expected a refusal");
  return result.refusal;
};

describe("frozenCopy: the one copy of an action", () => {
  it("copies JSON data deeply and freezes every level; the original stays the caller's", () => {
    const original = { agentId: "a", action: { type: "tool_call", tool: "t", args: { list: [1, { deep: "x" }], n: -0 } } };
    const result = frozenCopy(original);
    if (!result.ok) throw new Error(result.refusal.description);
    const copy = result.value as typeof original;
    expect(copy).toEqual({ agentId: "a", action: { type: "tool_call", tool: "t", args: { list: [1, { deep: "x" }], n: 0 } } });
    expect(copy).not.toBe(original);
    expect(copy.action.args.list[1]).not.toBe(original.action.args.list[1]);
    for (const level of [copy, copy.action, copy.action.args, copy.action.args.list, copy.action.args.list[1]]) expect(Object.isFrozen(level)).toBe(true);
    original.action.args.list.push(2);
    expect(copy.action.args.list).toHaveLength(2);
    expect(() => {
      (copy.action as { tool: string }).tool = "rm";
    }).toThrow(TypeError);
  });

  it("recognises its own copies, so a copy handed on is not copied again", () => {
    const first = frozenCopy({ type: "sql", sql: "SELECT 1" });
    if (!first.ok) throw new Error("copy failed");
    expect(isFrozenCopy(first.value)).toBe(true);
    expect(isFrozenCopy({ type: "sql" })).toBe(false);
    expect(frozenCopySize(first.value)).toBe(first.bytes);
    const again = frozenCopy(first.value);
    expect(again.ok && again.value).toBe(first.value);
    // Even a known copy is held to the limit it is asked for.
    expect(refusal(first.value, first.bytes - 1).rule).toBe("action_too_large");
  });

  it("takes a copy nested in a new value as it is, counting its size", () => {
    const body = frozenCopy({ type: "sql", sql: "SELECT 1" });
    if (!body.ok) throw new Error("copy failed");
    const full = frozenCopy({ agentId: "a", action: body.value });
    if (!full.ok) throw new Error("copy failed");
    expect((full.value as { action: unknown }).action).toBe(body.value);
    expect(full.bytes).toBeGreaterThan(body.bytes);
    expect(frozenCopy({ agentId: "a", action: body.value }, body.bytes).ok).toBe(false);
  });

  it("refuses a getter without ever calling it", () => {
    let reads = 0;
    const body = {
      type: "sql",
      get sql() {
        reads += 1;
        return reads === 1 ? "SELECT 1" : "DROP TABLE users";
      },
    };
    expect(refusal({ agentId: "a", action: body })).toEqual({ rule: "invalid_action", description: "action.action.sql is a getter/setter; an action is plain data, read once" });
    expect(reads).toBe(0);
  });

  it("refuses a Proxy without running any of its traps, at any depth", () => {
    const traps: string[] = [];
    const handler: ProxyHandler<object> = Object.fromEntries(
      ["get", "getOwnPropertyDescriptor", "ownKeys", "getPrototypeOf", "has"].map((trap) => [
        trap,
        (...args: unknown[]) => {
          traps.push(trap);
          return (Reflect as unknown as Record<string, (...a: unknown[]) => unknown>)[trap]!(...args);
        },
      ]),
    );
    const proxy = new Proxy({ type: "sql", sql: "SELECT 1" }, handler);
    expect(refusal(proxy).description).toBe("action is a Proxy; an action is plain data");
    expect(refusal({ action: { type: "tool_call", tool: "t", args: { inner: proxy } } }).description).toMatch(/^action\.action\.args\.inner is a Proxy/);
    expect(traps).toEqual([]);
  });

  it("refuses what JSON cannot carry, and names where", () => {
    expect(refusal({ a: () => 1 }).description).toBe("action.a is a function; an action is JSON data");
    expect(refusal({ a: Symbol("s") }).description).toBe("action.a is a symbol; an action is JSON data");
    expect(refusal({ a: 1n }).description).toBe("action.a is a bigint; an action is JSON data");
    expect(refusal({ a: [Number.NaN] }).description).toBe("action.a[0] is NaN, which has no JSON form");
    expect(refusal({ a: Number.POSITIVE_INFINITY }).description).toMatch(/Infinity/);
    expect(refusal({ a: new Date(0) }).description).toMatch(/^action\.a is not a plain object/);
    expect(refusal({ a: new Map() }).description).toMatch(/not a plain object/);
    class Action {
      type = "sql";
    }
    expect(refusal(new Action()).description).toMatch(/not a plain object/);
  });

  it("refuses cycles, but copies a value shared twice", () => {
    const cyclic: Record<string, unknown> = { type: "x" };
    cyclic["self"] = { back: cyclic };
    expect(refusal(cyclic).description).toBe("action.self.back refers back to itself (a cycle)");
    const shared = { s: "x" };
    const result = frozenCopy({ a: shared, b: shared });
    expect(result.ok && result.value).toEqual({ a: { s: "x" }, b: { s: "x" } });
  });

  it("refuses nesting deeper than MAX_ACTION_DEPTH", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < MAX_ACTION_DEPTH + 1; i++) deep = { d: deep };
    expect(refusal(deep).description).toMatch(new RegExp(`nested deeper than ${MAX_ACTION_DEPTH} levels`));
    let ok: unknown = "leaf";
    for (let i = 0; i < MAX_ACTION_DEPTH - 1; i++) ok = [ok];
    expect(frozenCopy(ok).ok).toBe(true);
  });

  it("stops at maxBytes: a huge string, a huge array and an exponentially shared value cost bounded work", () => {
    expect(refusal({ sql: "x".repeat(10 * 1024 * 1024) }, 4 * 1024 * 1024)).toEqual({ rule: "action_too_large", description: "action is larger than maxActionBytes (4194304 bytes); it was not analysed" });
    expect(refusal({ list: new Array(50_000_000) }, 1024).rule).toBe("action_too_large");
    // 2^60 leaves if walked in full; the count stops it after about maxBytes of them.
    let dag: unknown = "x";
    for (let i = 0; i < 60; i++) dag = [dag, dag];
    const started = performance.now();
    expect(refusal(dag, 1 << 20).rule).toBe("action_too_large");
    expect(performance.now() - started).toBeLessThan(5_000);
    // Multi-byte text counts its UTF-8 bytes.
    expect(frozenCopy("é".repeat(10), 21).ok).toBe(false);
    expect(frozenCopy("é".repeat(10), 22).ok).toBe(true);
  });

  it("drops symbol keys, non-enumerable and undefined members, as JSON does; keeps an own __proto__ as a member", () => {
    const value: Record<PropertyKey, unknown> = { type: "x", gone: undefined, [Symbol("hidden")]: "s" };
    Object.defineProperty(value, "secret", { value: "DROP", enumerable: false });
    const withProto = JSON.parse('{"type":"x","__proto__":{"polluted":true}}') as object;
    const plain = frozenCopy(value);
    expect(plain.ok && plain.value).toEqual({ type: "x" });
    const proto = frozenCopy(withProto);
    if (!proto.ok) throw new Error("copy failed");
    expect(Object.getPrototypeOf(proto.value)).toBe(Object.prototype);
    expect(Object.hasOwn(proto.value as object, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("hashes a body as the trail does: SHA-256 of its canonical JSON", () => {
    const body = { type: "sql", sql: "SELECT 1", b: [1, 2] };
    expect(actionSha256(body)).toBe(sha256Hex(canonicalJson(body)));
    expect(actionSha256(body)).toMatch(/^[0-9a-f]{64}$/);
  });
});
