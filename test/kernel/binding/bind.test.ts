import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bindInput, bindingViolation, findBinding, MAX_BOUND_VALUES } from "../../../src/kernel/binding/bind.js";
import { loadInputBinding, parseInputBinding } from "../../../src/kernel/binding/load.js";
import { isPolicyKernelError } from "../../../src/errors.js";

const http = parseInputBinding({
  bindings: [
    {
      when: { type: "tool_call", tool: "http_request" },
      input: {
        method: { from: "action.args.method", upper: true },
        path: { from: "action.args.url", url: "segments" },
        user: { from: "context.role" },
      },
    },
    { when: { type: "tool_call" }, input: { tool: { from: "action.tool" }, kind: { value: "generic" } } },
    { when: { type: "sql" }, input: { query: { from: "action.sql" }, agent: { from: "agentId" } } },
  ],
});
const trusted = { context: { role: "alice" }, agentId: "agent-7" };
const call = (args: Record<string, unknown>, tool = "http_request"): unknown => ({ type: "tool_call", tool, args });

function scratch(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "pk-binding-")), name);
  writeFileSync(file, text);
  return file;
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("bindInput", () => {
  it("builds the input an HTTP policy expects from the args and the trusted context", () => {
    const result = bindInput(http, call({ method: "get", url: "https://api.example.com/finance/salary/alice?x=1" }), trusted);
    expect(result).toEqual({ bound: true, when: { type: "tool_call", tool: "http_request" }, input: { method: "GET", path: ["finance", "salary", "alice"], user: "alice" } });
  });

  it("reads context from the trainer only, never from a context the agent put in its action", () => {
    const action = { type: "tool_call", tool: "http_request", args: { method: "GET", url: "/a" }, context: { role: "admin" } };
    const result = bindInput(http, action, { context: { role: "intern" } });
    expect(result.bound && (result.input as { user: string }).user).toBe("intern");
  });

  it("prefers the tool's binding, then the type's, and denies an action no binding covers", () => {
    expect(findBinding(http, call({}, "http_request"))?.when).toEqual({ type: "tool_call", tool: "http_request" });
    expect(bindInput(http, call({}, "search"), trusted)).toEqual({ bound: true, when: { type: "tool_call" }, input: { tool: "search", kind: "generic" } });
    const unbound = bindInput(http, { type: "transaction", amountUsd: 5, recipient: "x" }, trusted);
    expect(unbound).toMatchObject({ bound: false, rule: "unbound_action" });
    if (unbound.bound) return;
    expect(unbound.description).toContain('action type "transaction"');
    expect(bindingViolation(unbound)).toMatchObject({ policy: "kernel", rule: "unbound_action", blocked: true, severity: "critical" });
  });

  it("denies an action that lacks a required field, and leaves an optional one absent", () => {
    const missing = bindInput(http, call({ method: "GET" }), trusted);
    expect(missing).toMatchObject({ bound: false, rule: "unbindable_action" });
    if (!missing.bound) expect(missing.description).toContain("action.args.url is missing, which input.path requires");
    const optional = parseInputBinding({ bindings: [{ when: { type: "x" }, input: { a: { from: "action.a", optional: true }, b: { from: "action.b", default: "none" } } }] });
    expect(bindInput(optional, { type: "x" })).toMatchObject({ bound: true, input: { b: "none" } });
    const result = bindInput(optional, { type: "x" });
    expect(result.bound && Object.hasOwn(result.input as object, "a")).toBe(false);
  });

  it("denies a transform on the wrong type instead of passing a value the policy cannot match", () => {
    const result = bindInput(http, call({ method: { verb: "DELETE" }, url: "/a" }), trusted);
    expect(result).toMatchObject({ bound: false, rule: "unbindable_action" });
    if (!result.bound) expect(result.description).toContain("upper expects a string or an array of strings, got an object");
  });

  it("resolves dot segments and percent-encoding as a server would route the path", () => {
    const segments = (url: string): unknown => {
      const result = bindInput(http, call({ method: "GET", url }), trusted);
      return result.bound ? (result.input as { path: unknown }).path : result.description;
    };
    expect(segments("/finance/public/../salary/alice")).toEqual(["finance", "salary", "alice"]);
    expect(segments("/finance/%2e%2e/salary/al%69ce/")).toEqual(["salary", "alice"]);
    expect(segments("/a/%E0%A4%A")).toContain("cannot decode");
  });

  it("takes each documented URL part, splits and lower-cases", () => {
    const binding = parseInputBinding({
      bindings: [
        {
          when: { type: "x" },
          input: {
            host: { from: "action.u", url: "host" },
            path: { from: "action.u", url: "path" },
            query: { from: "action.u", url: "query" },
            target: { from: "action.u", url: "target" },
            tags: { from: "action.t", split: ",", lower: true },
            first: { from: "action.list.0" },
          },
        },
      ],
    });
    expect(bindInput(binding, { type: "x", u: "https://Api.Example.com/a/b?q=1", t: "A,b", list: ["z"] })).toMatchObject({
      bound: true,
      input: { host: "api.example.com", path: "/a/b", query: "q=1", target: "/a/b?q=1", tags: ["a", "b"], first: "z" },
    });
    expect(bindInput(binding, { type: "x", u: "/relative", t: "a", list: [] })).toMatchObject({ bound: false, rule: "unbindable_action" });
  });

  it("never lets prototype keys in the action pollute or reach the policy input", () => {
    const binding = parseInputBinding({ bindings: [{ when: { type: "x" }, input: { body: { from: "action.body" }, str: { from: "action.body.toString", optional: true } } }] });
    const hostile = JSON.parse('{"type":"x","body":{"ok":1,"__proto__":{"polluted":true}}}') as unknown;
    const result = bindInput(binding, hostile);
    expect(result).toMatchObject({ bound: false, rule: "unbindable_action" });
    if (!result.bound) expect(result.description).toContain('forbidden key "__proto__"');
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    // An inherited member is not a field: toString of a plain object is absent, so optional leaves it out.
    const plain = bindInput(binding, { type: "x", body: { ok: 1 } });
    expect(plain).toEqual({ bound: true, when: { type: "x" }, input: { body: { ok: 1 } } });
  });

  it("bounds the depth and size of what an action can make it copy", () => {
    const binding = parseInputBinding({ bindings: [{ when: { type: "x" }, input: { body: { from: "action.body" } } }] });
    let deep: unknown = "leaf";
    for (let i = 0; i < 5000; i++) deep = [deep];
    expect(bindInput(binding, { type: "x", body: deep })).toMatchObject({ bound: false, rule: "unbindable_action" });
    const wide = bindInput(binding, { type: "x", body: new Array<number>(MAX_BOUND_VALUES + 1).fill(1) });
    expect(wide).toMatchObject({ bound: false, rule: "unbindable_action" });
    if (!wide.bound) expect(wide.description).toContain(`more than ${MAX_BOUND_VALUES} values`);
  });

  it("copies values, so changing the bound input cannot change the action", () => {
    const binding = parseInputBinding({ bindings: [{ when: { type: "x" }, input: { from: "action.body" } }] });
    const action = { type: "x", body: { list: [1, { a: "b" }] } };
    const result = bindInput(binding, action);
    expect(result).toEqual({ bound: true, when: { type: "x" }, input: { list: [1, { a: "b" }] } });
    if (result.bound) ((result.input as { list: unknown[] }).list[1] as Record<string, string>)["a"] = "changed";
    expect(action.body.list[1]).toEqual({ a: "b" });
  });
});

describe("loading a binding", () => {
  it("reads YAML and JSON files into the same binding", () => {
    const yaml = scratch(
      "binding.yaml",
      ["bindings:", "  - when: { type: tool_call, tool: http_request }", "    input:", "      method: { from: action.args.method, upper: true }", ""].join("\n"),
    );
    const json = scratch("binding.json", JSON.stringify({ bindings: [{ when: { type: "tool_call", tool: "http_request" }, input: { method: { from: "action.args.method", upper: true } } }] }));
    expect(loadInputBinding(yaml)).toEqual(loadInputBinding(json));
  });

  it("freezes a loaded binding, which bindInput indexes once", () => {
    const rule = http.bindings[0]!;
    expect([Object.isFrozen(http.bindings), Object.isFrozen(rule.when), Object.isFrozen((rule.input as Record<string, unknown>)["method"])]).toEqual([true, true, true]);
  });

  it.each([
    ["an unknown key of a template", { bindings: [{ when: { type: "x" }, input: { m: { from: "action.m", uper: true } } }] }, "bindings[0].input.m", 'Unrecognized key: "uper"'],
    ["a template that is a bare string", { bindings: [{ when: { type: "x" }, input: { m: "action.m" } }] }, "bindings[0].input.m", "expected a {from: ...} or {value: ...} template"],
    ["from and value together", { bindings: [{ when: { type: "x" }, input: { m: { from: "action.m", value: 1 } } }] }, "bindings[0].input.m", "exactly one of from or value"],
    ["a reference outside action and context", { bindings: [{ when: { type: "x" }, input: { m: { from: "process.env" } } }] }, "bindings[0].input.m.from", "a dotted path from action, context or agentId"],
    ["a prototype segment in a reference", { bindings: [{ when: { type: "x" }, input: { m: { from: "action.constructor.name" } } }] }, "bindings[0].input.m.from", "no __proto__, constructor or prototype segment"],
    ["a transform on a literal", { bindings: [{ when: { type: "x" }, input: { m: { value: "a", upper: true } } }] }, "bindings[0].input.m.upper", "applies to from"],
    ["a tool on another type", { bindings: [{ when: { type: "sql", tool: "q" }, input: { value: 1 } }] }, "bindings[0].when.tool", "tool applies to type tool_call only"],
    ["two bindings for the same actions", { bindings: [{ when: { type: "x" }, input: { value: 1 } }, { when: { type: "x" }, input: { value: 2 } }] }, "bindings[1].when", "binds the same actions as bindings[0]"],
    ["an unknown top-level key", { bindings: [{ when: { type: "x" }, input: { value: 1 } }], version: 2 }, "(root)", 'Unrecognized key: "version"'],
  ])("refuses %s, naming the file and the field", (_name, raw, field, message) => {
    const file = scratch("binding.json", JSON.stringify(raw));
    const error = thrown(() => loadInputBinding(file));
    expect(isPolicyKernelError(error, "invalid_config")).toBe(true);
    expect(error.message).toContain(`${file}: ${field}: `);
    expect(error.message).toContain(message);
  });

  it("refuses prototype keys in YAML and JSON binding files", () => {
    const yaml = scratch("b.yaml", ["bindings:", "  - when: { type: x }", "    input:", "      __proto__: { from: action.a }", ""].join("\n"));
    const json = scratch("b.json", '{"bindings":[{"when":{"type":"x"},"input":{"constructor":{"from":"action.a"}}}]}');
    expect(thrown(() => loadInputBinding(yaml)).message).toContain('forbidden key "__proto__"');
    expect(thrown(() => loadInputBinding(json)).message).toContain('forbidden key "constructor"');
    expect(({} as Record<string, unknown>)["from"]).toBeUndefined();
  });

  it("names a missing file and malformed YAML", () => {
    expect(isPolicyKernelError(thrown(() => loadInputBinding("/nonexistent/binding.yaml")), "io_error")).toBe(true);
    expect(thrown(() => loadInputBinding(scratch("b.yaml", "bindings: [\n"))).message).toContain("invalid YAML");
  });
});
