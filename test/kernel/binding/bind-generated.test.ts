import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bindInput } from "../../../src/kernel/binding/bind.js";
import { parseInputBinding } from "../../../src/kernel/binding/load.js";
import { isPolicyKernelError } from "../../../src/errors.js";

// A binding that reaches into every part of an action an agent controls, with every transform.
const binding = parseInputBinding({
  bindings: [
    {
      when: { type: "tool_call", tool: "http_request" },
      input: {
        method: { from: "action.args.method", upper: true, optional: true },
        segments: { from: "action.args.url", url: "segments", optional: true },
        host: { from: "action.args.url", url: "host", default: "none" },
        body: { from: "action.args.body", optional: true },
        tags: { from: "action.args.tags", split: ",", lower: true, optional: true },
        role: { from: "context.role", optional: true },
      },
    },
    { when: { type: "tool_call" }, input: { from: "action" } },
  ],
});

const key = fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "toString", "method", "url", "body", "tags", "0"), fc.string({ maxLength: 6 }));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, fc.string({ maxLength: 30 }), fc.double(), fc.boolean(), fc.constant(null), fc.array(tie("value"), { maxLength: 4 }), fc.dictionary(key, tie("value"), { maxKeys: 4 })),
})).value;
const url = fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string({ maxLength: 40 }).map((path) => `/${path}`), fc.string({ maxLength: 20 }));
const action = fc.record({
  type: fc.constantFrom("tool_call", "sql", ""),
  tool: fc.oneof(fc.constant("http_request"), fc.string({ maxLength: 8 })),
  args: fc.oneof(fc.record({ method: fc.oneof(fc.string({ maxLength: 8 }), json), url: fc.oneof(url, json), body: json, tags: fc.oneof(fc.string({ maxLength: 20 }), json) }, { requiredKeys: [] }), json),
});

describe("bindInput on generated agent actions", () => {
  it("never throws, gives plain JSON or a reason, and never pollutes a prototype", () => {
    let bound = 0;
    fc.assert(
      fc.property(action, fc.boolean(), (raw, viaJson) => {
        // Through JSON.parse, "__proto__" becomes an own key, as in an action read from the wire.
        const candidate: unknown = viaJson ? JSON.parse(JSON.stringify(raw).replaceAll('"prototype"', '"__proto__"')) : raw;
        const result = bindInput(binding, candidate, { context: { role: "analyst" } });
        if (result.bound) {
          bound++;
          expect(JSON.parse(JSON.stringify(result.input))).toEqual(result.input);
        } else {
          expect(["unbound_action", "unbindable_action"]).toContain(result.rule);
          expect(result.description.length).toBeGreaterThan(0);
        }
        expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
        expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      }),
      { numRuns: 2000, seed: 2126 },
    );
    // The generator reaches both outcomes, so the property is not about one of them only.
    expect(bound).toBeGreaterThan(100);
  });

  it("refuses any malformed binding with a PolicyKernelError, never another error", () => {
    let refused = 0;
    fc.assert(
      fc.property(json, (raw) => {
        try {
          parseInputBinding({ bindings: [{ when: { type: "x" }, input: raw }] });
        } catch (error) {
          refused++;
          expect(isPolicyKernelError(error, "invalid_config"), String(error)).toBe(true);
        }
      }),
      { numRuns: 2000, seed: 2126 },
    );
    expect(refused).toBeGreaterThan(1000);
  });
});
