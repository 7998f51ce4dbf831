import { describe, expect, it } from "vitest";
import { inputPathsFromDeps as scriptInputPaths } from "../../../scripts/build-record.mjs";
import { checkBinding, givenPaths } from "../../../src/kernel/binding/check.js";
import { inputPathsFromDeps } from "../../../src/kernel/binding/entrypoint-paths.js";
import { parseInputBinding } from "../../../src/kernel/binding/load.js";

// Envoy ext_authz input: the policy reads input.attributes.request.http.{method,path} and input.parsed_path.
const envoy = parseInputBinding({
  bindings: [
    {
      when: { type: "tool_call", tool: "http_request" },
      input: {
        attributes: { request: { http: { method: { from: "action.args.method", upper: true }, path: { from: "action.args.url", url: "path" } } } },
        parsed_path: { from: "action.args.url", url: "segments" },
      },
    },
    { when: { type: "tool_call", tool: "kubectl_apply" }, input: { review: { object: { from: "action.args.manifest" } }, parameters: { value: { labels: ["owner"] } } } },
  ],
});

describe("checkBinding", () => {
  it("lists what each binding gives, a reference standing for everything below it", () => {
    expect(givenPaths(envoy.bindings[1]!.input)).toEqual([
      { path: ["review", "object"], opaque: true },
      { path: ["parameters", "labels"], opaque: false },
    ]);
  });

  it("accepts a binding that gives every path, under or above a reference", () => {
    const reads = { "envoy/authz/allow": [["attributes", "request", "http", "method"], ["attributes", "request", "http", "path"], ["parsed_path"]] };
    const onlyHttp = parseInputBinding({ bindings: [envoy.bindings[0]!] });
    expect(checkBinding(onlyHttp, reads)).toEqual([]);
    expect(checkBinding(onlyHttp, { "envoy/authz/allow": [["attributes"]] })).toEqual([]);
  });

  it("names, per binding, each path an entrypoint reads that the binding never gives", () => {
    const problems = checkBinding(envoy, {
      "k8s/deny": [["review", "object", "metadata", "labels"], ["parameters", "labels"], ["parameters", "exempt"]],
      "envoy/authz/allow": [["attributes", "request", "http", "method"]],
    });
    expect(problems.map((problem) => [problem.entrypoint, problem.when.tool, problem.missing])).toEqual([
      ["envoy/authz/allow", "kubectl_apply", ["input.attributes.request.http.method"]],
      ["k8s/deny", "http_request", ["input.review.object.metadata.labels", "input.parameters.labels", "input.parameters.exempt"]],
      ["k8s/deny", "kubectl_apply", ["input.parameters.exempt"]],
    ]);
  });

  it("lets an entrypoint that reads the whole input or none through", () => {
    expect(checkBinding(envoy, { "a/whole": null, "a/none": [] })).toEqual([]);
  });
});

describe("inputPathsFromDeps", () => {
  const ref = (head: string, ...rest: Array<string | number>): Array<{ type: string; value: unknown }> => [
    { type: "var", value: head },
    ...rest.map((part) => (typeof part === "number" ? { type: "var", value: `x${part}` } : { type: "string", value: part })),
  ];
  it.each([
    ["paths cut at a variable and covered by shorter ones", { base: [ref("input", "review", "object", 1), ref("input", "review"), ref("input", "method"), ref("data", "x")] }],
    ["the whole input", { base: [ref("input", "method"), ref("input")] }],
    ["no input", { base: [ref("data", "x")], virtual: [ref("data", "p", "allow")] }],
  ])("agrees with scripts/build-record.mjs on %s", (_name, deps) => {
    expect(inputPathsFromDeps(deps)).toEqual(scriptInputPaths(deps));
  });
});
