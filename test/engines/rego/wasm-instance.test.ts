import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readBundle } from "../../../src/engines/rego/bundle.js";
import { RegoNumber, RegoObject, RegoSet } from "../../../src/engines/rego/rego-value.js";
import { instantiatePolicy } from "../../../src/engines/rego/wasm-instance.js";
import { hostBuiltins } from "../../../src/engines/rego/builtins/registry.js";
import { EvaluationClock } from "../../../src/engines/rego/builtins/check.js";
import { isPolicyKernelError } from "../../../src/errors.js";
import { opaPath } from "../../helpers/opa.js";

// The host's own instantiation of policy.wasm: builtin arguments as Rego values from a module
// built by the pinned OPA, and, from a small hostile module assembled here (real Wasm, run by
// V8), every way a module can misbehave towards the host: ids out of range, aborts, arguments
// that are malformed, too deep, unterminated or huge, a wrong ABI, a bad builtin table.

// --- A minimal OPA-shaped module, assembled byte by byte --------------------------------------

const uleb = (value: number): number[] => {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
};
const sleb = (value: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const text = (value: string): number[] => [...uleb(Buffer.byteLength(value)), ...Buffer.from(value)];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
const I32 = 0x7f;
const type = (params: number, results: number): number[] => [0x60, ...vec(Array.from({ length: params }, () => [I32])), ...vec(Array.from({ length: results }, () => [I32]))];
const constant = (value: number): number[] => [0x41, ...sleb(value)];

interface HostileOptions {
  readonly abi?: number;
  /** What `builtins()` dumps. */
  readonly builtins?: string;
}

/**
 * `opa_eval(_, entrypoint, _, input, ...)` calls builtin id `entrypoint` (1000: opa_abort("boom"))
 * with the input's address as its argument, and dumps are the identity: the builtin reads the
 * input text as the argument's value text. builtins() = {"evil": 7}, entrypoints() = {"main": 0}.
 */
function hostileModule(options: HostileOptions = {}): WebAssembly.Module {
  const types = [type(1, 1), type(2, 1), type(0, 1), type(1, 0), type(7, 1), type(3, 1)];
  const imports = [
    [...text("env"), ...text("memory"), 0x02, 0x00, 0x01],
    [...text("env"), ...text("opa_abort"), 0x00, 3],
    [...text("env"), ...text("opa_builtin1"), 0x00, 5],
  ];
  // Function index 0 and 1 are the imports.
  const functions: Array<{ name: string; type: number; body: number[] }> = [
    { name: "opa_malloc", type: 0, body: constant(4096) },
    { name: "opa_json_dump", type: 0, body: [0x20, 0] },
    { name: "opa_value_dump", type: 0, body: [0x20, 0] },
    { name: "opa_json_parse", type: 1, body: constant(8) },
    { name: "opa_value_parse", type: 1, body: constant(8) },
    { name: "opa_heap_ptr_get", type: 2, body: constant(8192) },
    { name: "builtins", type: 2, body: constant(16) },
    { name: "entrypoints", type: 2, body: constant(64) },
    { name: "opa_heap_ptr_set", type: 3, body: [] },
    { name: "opa_free", type: 3, body: [] },
    {
      name: "opa_eval",
      type: 4,
      // if (entrypoint == 1000) opa_abort(160); drop(opa_builtin1(entrypoint, 0, input)); return 96
      body: [0x20, 1, ...constant(1000), 0x46, 0x04, 0x40, ...constant(160), 0x10, 0, 0x0b, 0x20, 1, ...constant(0), 0x20, 3, 0x10, 1, 0x1a, ...constant(96)],
    },
  ];
  const globals = [
    [I32, 0x00, ...constant(options.abi ?? 1), 0x0b],
    [I32, 0x00, ...constant(2), 0x0b],
  ];
  const exports = [
    ...functions.map((fn, index) => [...text(fn.name), 0x00, ...uleb(index + 2)]),
    [...text("opa_wasm_abi_version"), 0x03, 0],
    [...text("opa_wasm_abi_minor_version"), 0x03, 1],
  ];
  const code = functions.map((fn) => {
    const body = [0x00, ...fn.body, 0x0b];
    return [...uleb(body.length), ...body];
  });
  const segment = (offset: number, value: string): number[] => [0x00, ...constant(offset), 0x0b, ...text(`${value}\u0000`)];
  const data = [segment(16, options.builtins ?? '{"evil":7}'), segment(64, '{"main":0}'), segment(96, '[{"result":1}]'), segment(160, "boom")];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(functions.map((fn) => uleb(fn.type)))),
    ...section(6, vec(globals)),
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
    ...section(11, vec(data)),
  ];
  return new WebAssembly.Module(new Uint8Array(bytes));
}

const asText = (value: string): ArrayBuffer => {
  const bytes = Buffer.from(value, "utf8");
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
};

/** The error `run` throws (a PolicyKernelError expected). */
function thrown(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (isPolicyKernelError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected an error");
}

describe("a hostile module against the host's imports", () => {
  const received: unknown[][] = [];
  const evil = (...args: unknown[]): unknown => {
    received.push(args);
    return new RegoSet([1]);
  };

  it("hands the builtin the argument's Rego value", () => {
    const policy = instantiatePolicy(hostileModule(), { evil });
    received.length = 0;
    expect(policy.evaluate(asText('{"a": {2, 1}, 3: [12345678901234567890]}'), 7)).toEqual([{ result: 1 }]);
    const [[argument]] = received as [[RegoObject]];
    expect(argument).toBeInstanceOf(RegoObject);
    expect(argument.entries[0]?.[1]).toEqual(new RegoSet([2, 1]));
    expect(argument.entries[1]?.[1]).toEqual([new RegoNumber("12345678901234567890")]);
  });

  it("refuses a builtin id its table does not list, and one the host lacks", () => {
    expect(thrown(() => instantiatePolicy(hostileModule(), { evil }).evaluate(asText("1"), 99))).toEqual({
      code: "engine_error",
      message: "policy.wasm called builtin id 99, which its builtins() table does not list",
    });
    expect(thrown(() => instantiatePolicy(hostileModule(), {}).evaluate(asText("1"), 7)).message).toBe("policy.wasm called builtin evil, which this host does not implement");
  });

  it("turns opa_abort into a PolicyKernelError with the module's message", () => {
    expect(thrown(() => instantiatePolicy(hostileModule(), { evil }).evaluate(asText("1"), 1000))).toEqual({ code: "engine_error", message: "policy.wasm aborted: boom" });
  });

  it("refuses malformed and too-deep argument text, naming the builtin", () => {
    const policy = instantiatePolicy(hostileModule(), { evil });
    for (const bad of ["{1: }", "[1, 2", '"\\x"', "set(", "tru", "{1, 2: 3}", `${"[".repeat(50_000)}${"]".repeat(50_000)}`]) {
      const error = thrown(() => policy.evaluate(asText(bad), 7));
      expect(error.code).toBe("engine_error");
      expect(error.message).toMatch(/^policy\.wasm gave evil an argument this host cannot read: value text at offset \d+: /);
    }
  });

  it("refuses argument text that runs to the end of memory unterminated", () => {
    const policy = instantiatePolicy(hostileModule(), { evil });
    const memory = new Uint8Array(policy.mem.buffer);
    memory.fill(0x31, 8192);
    expect(thrown(() => policy.evaluate(asText("1"), 7)).message).toMatch(/an argument of evil longer than \d+ bytes or not terminated/);
  });

  it("reads a 16 MiB argument (the memory grows for it)", () => {
    const policy = instantiatePolicy(hostileModule(), { evil });
    received.length = 0;
    policy.evaluate(asText(`"${"x".repeat(16 * 1024 * 1024)}"`), 7);
    expect((received[0]?.[0] as string).length).toBe(16 * 1024 * 1024);
  });

  it("refuses a module of another ABI, or whose builtins() is not a table of ids", () => {
    expect(thrown(() => instantiatePolicy(hostileModule({ abi: 2 }), {}, "b.tar.gz"))).toEqual({
      code: "invalid_bundle",
      message: "b.tar.gz: policy.wasm has OPA Wasm ABI version 2, not 1 (expected a module built by `opa build -t wasm`)",
    });
    for (const table of ['{"evil":"7"}', "[7]", '{"evil":1.5}', "{"]) {
      expect(thrown(() => instantiatePolicy(hostileModule({ builtins: table }), {})).code).toBe("invalid_bundle");
    }
  });
});

describe("a module built by the pinned OPA", () => {
  const dir = mkdtempSync(join(tmpdir(), "pk-wasm-instance-"));
  const rego = `package t

labels := {l | some l in input.labels}

out := {"message": sprintf("missing: %v", [labels]), "back": [is_set(r), count(r)]} if r := sprintf("%v", [{"k": labels, 1: input.big}])
`;

  it("gives the builtin sets and exact numbers, and takes a set back", async () => {
    writeFileSync(join(dir, "t.rego"), rego);
    execFileSync(opaPath(), ["build", "-t", "wasm", "-e", "t/out", "-o", join(dir, "bundle.tar.gz"), join(dir, "t.rego")], { stdio: ["ignore", "pipe", "pipe"] });
    const bundle = await readBundle(join(dir, "bundle.tar.gz"));
    const seen: unknown[] = [];
    const policy = instantiatePolicy(bundle.module as WebAssembly.Module, {
      // A sprintf that records its values and answers "%v" with a set of two.
      sprintf: (format: unknown, values: unknown) => {
        seen.push(values);
        return format === "%v" ? new RegoSet(["b", "a"]) : `${String(format)}`;
      },
    });
    const result = policy.evaluate(asText('{"labels": ["b", "a", "b"], "big": 123456789012345678901234567890}'), 0) as Array<{ result: unknown }>;
    expect(result[0]?.result).toEqual({ message: "missing: %v", back: [true, 2] });
    const first = seen.find((values) => (values as unknown[])[0] instanceof RegoSet) as [RegoSet];
    const second = seen.find((values) => (values as unknown[])[0] instanceof RegoObject) as [RegoObject];
    expect([...first[0].elements].sort()).toEqual(["a", "b"]);
    const big = second[0].entries.find(([key]) => key === 1)?.[1];
    const labels = second[0].entries.find(([key]) => key === "k")?.[1];
    expect(big).toEqual(new RegoNumber("123456789012345678901234567890"));
    expect(labels).toBeInstanceOf(RegoSet);
  });

  it("hands the SDK's yaml.* builtins JSON (a set as a sorted array), as OPA's ast.JSON does", async () => {
    const yamlRego = 'package y\n\nout := [yaml.marshal({"k": {"b", "a"}}), yaml.unmarshal("a: [1, 2]"), yaml.is_valid("a: [")]\n';
    writeFileSync(join(dir, "y.rego"), yamlRego);
    execFileSync(opaPath(), ["build", "-t", "wasm", "-e", "y/out", "-o", join(dir, "y.tar.gz"), join(dir, "y.rego")], { stdio: ["ignore", "pipe", "pipe"] });
    const policy = instantiatePolicy((await readBundle(join(dir, "y.tar.gz"))).module as WebAssembly.Module, hostBuiltins(new EvaluationClock()));
    const ours = (policy.evaluate(undefined, 0) as Array<{ result: unknown }>)[0]?.result;
    const opa = JSON.parse(execFileSync(opaPath(), ["eval", "-f", "json", "-d", join(dir, "y.rego"), "data.y.out"], { encoding: "utf8" })) as { result: Array<{ expressions: Array<{ value: unknown }> }> };
    expect(ours).toEqual(opa.result[0]?.expressions[0]?.value);
  });

  it("fails an evaluation whose builtin argument nests deeper than 1,000 levels, and prints one that does not", async () => {
    writeFileSync(join(dir, "deep.rego"), 'package deep\n\nout := sprintf("%v", [input])\n');
    execFileSync(opaPath(), ["build", "-t", "wasm", "-e", "deep/out", "-o", join(dir, "deep.tar.gz"), join(dir, "deep.rego")], { stdio: ["ignore", "pipe", "pipe"] });
    const policy = instantiatePolicy((await readBundle(join(dir, "deep.tar.gz"))).module as WebAssembly.Module, hostBuiltins(new EvaluationClock()));
    const nested = (depth: number): string => `${"[".repeat(depth)}1${"]".repeat(depth)}`;
    // The input is the argument's only element: the argument is one level deeper.
    expect(policy.evaluate(asText(nested(999)), 0)).toEqual([{ result: nested(999) }]);
    expect(thrown(() => policy.evaluate(asText(nested(1000)), 0))).toEqual({
      code: "engine_error",
      message: "policy.wasm gave sprintf an argument this host cannot read: value text at offset 1001: values nest deeper than 1000",
    });
    // Deeper, the module's own (recursive) writer may run out of stack first: an error naming sprintf either way.
    const deeper = thrown(() => policy.evaluate(asText(nested(5000)), 0));
    expect(deeper.code).toBe("engine_error");
    expect(deeper.message).toMatch(/^policy\.wasm (gave sprintf an argument this host cannot read|could not write an argument of sprintf: Maximum call stack size exceeded)/);
    // Deeper still, the module's JSON parser overflows reading the input: the evaluation throws (the engines deny).
    expect(() => policy.evaluate(asText(nested(50_000)), 0)).toThrow(RangeError);
    // The instance still evaluates afterwards.
    expect(policy.evaluate(asText("[1, 2]"), 0)).toEqual([{ result: "[1, 2]" }]);
  });
});
