// Instantiates an OPA policy.wasm with this host's imports, in place of the opa-wasm SDK's
// loadPolicySync. The SDK hands builtins their arguments through opa_json_dump, so a Rego set
// arrives as an array and a big number loses digits; here each argument is read with
// opa_value_dump (Rego's own text) into the value model of rego-value.ts, and each result goes
// back through opa_value_parse. Evaluation itself (opa_eval, wasm-eval.ts) is untouched: builtins
// are called rarely, and only their calls pay for this.

import type { LoadedPolicy } from "@open-policy-agent/opa-wasm";
import { PolicyKernelError, errorMessage } from "../../errors.js";
import { isPlainObject } from "../../values.js";
import { parseValueText, writeValueText } from "./value-text.js";

/** What the engines use of a loaded policy: the SDK's LoadedPolicy has the same members, so either fits. */
export type WasmPolicy = Pick<LoadedPolicy, "wasmInstance" | "mem" | "minorVersion" | "dataAddr" | "dataHeapPtr" | "entrypoints" | "setData" | "evaluate">;

/** A host builtin: arguments in the value model of rego-value.ts; returns a value, an ArrayBuffer of exact JSON text, or undefined (Rego's undefined). */
export type WasmBuiltin = (...args: unknown[]) => unknown;

/** The largest value text read from the module for one builtin argument. */
export const MAX_ARGUMENT_BYTES = 64 * 1024 * 1024;
/** The most of an `opa_abort` message kept. */
const MAX_ABORT_BYTES = 4096;
const PAGE = 64 * 1024;

interface PolicyExports {
  opa_malloc(size: number): number;
  opa_free?(address: number): void;
  opa_json_parse(address: number, length: number): number;
  opa_value_parse?(address: number, length: number): number;
  opa_json_dump(value: number): number;
  opa_value_dump?(value: number): number;
  opa_heap_ptr_get(): number;
  opa_heap_ptr_set(address: number): void;
  builtins(): number;
  entrypoints(): number;
  opa_eval?(reserved: number, entrypoint: number, data: number, input: number, inputLength: number, heap: number, format: number): number;
  eval(context: number): number;
  opa_eval_ctx_new(): number;
  opa_eval_ctx_set_input(context: number, input: number): void;
  opa_eval_ctx_set_data(context: number, data: number): void;
  opa_eval_ctx_set_entrypoint(context: number, entrypoint: number): void;
  opa_eval_ctx_get_result(context: number): number;
  opa_wasm_abi_version?: WebAssembly.Global | number;
  opa_wasm_abi_minor_version?: WebAssembly.Global | number;
}

/** A policy.wasm instantiated by this host: what `WasmPolicy` needs, plus the builtin table it imports. */
export class PolicyInstance implements WasmPolicy {
  readonly wasmInstance: WebAssembly.Instance;
  readonly mem: WebAssembly.Memory;
  readonly minorVersion: number;
  readonly entrypoints: Record<string, number>;
  /** The builtins the module imports, by the id it calls them with. */
  readonly builtinNames: ReadonlyMap<number, string>;
  dataAddr: number;
  dataHeapPtr: number;
  private readonly baseHeapPtr: number;
  private readonly exports: PolicyExports;

  /** Use `instantiatePolicy`. */
  constructor(instance: WebAssembly.Instance, memory: WebAssembly.Memory, builtinNames: ReadonlyMap<number, string>, minorVersion: number) {
    this.wasmInstance = instance;
    this.mem = memory;
    this.exports = instance.exports as unknown as PolicyExports;
    this.builtinNames = builtinNames;
    this.minorVersion = minorVersion;
    this.dataAddr = loadJson(this.exports, memory, "{}");
    this.baseHeapPtr = this.exports.opa_heap_ptr_get();
    this.dataHeapPtr = this.baseHeapPtr;
    this.entrypoints = readIdTable(this.exports, memory, this.exports.entrypoints(), "entrypoints()");
  }

  /** Loads `data` (a value, or its JSON text as an ArrayBuffer) for the evaluations that follow; as the SDK's setData. */
  setData(data: unknown): void {
    this.exports.opa_heap_ptr_set(this.baseHeapPtr);
    this.dataAddr = loadJson(this.exports, this.mem, data instanceof ArrayBuffer ? data : JSON.stringify(data));
    this.dataHeapPtr = this.exports.opa_heap_ptr_get();
  }

  /** One evaluation of `entrypoint` (an id) with `input`; the result set, as the SDK's evaluate returns it. */
  evaluate(input: unknown, entrypoint: number | string = 0): unknown {
    const id = typeof entrypoint === "number" ? entrypoint : Object.hasOwn(this.entrypoints, entrypoint) ? this.entrypoints[entrypoint] : undefined;
    if (id === undefined) throw new PolicyKernelError("invalid_config", `entrypoint ${String(entrypoint)} is not in this policy.wasm`);
    const exports = this.exports;
    const text = input === undefined ? undefined : input instanceof ArrayBuffer ? new Uint8Array(input) : Buffer.from(JSON.stringify(input), "utf8");
    if (this.minorVersion >= 2 && exports.opa_eval) {
      let inputAddr = 0;
      let length = 0;
      if (text !== undefined) {
        inputAddr = this.dataHeapPtr;
        length = text.byteLength;
        const missing = inputAddr + length - this.mem.buffer.byteLength;
        if (missing > 0) this.mem.grow(Math.ceil(missing / PAGE));
        new Uint8Array(this.mem.buffer).set(text, inputAddr);
      }
      const result = exports.opa_eval(0, id, this.dataAddr, inputAddr, length, this.dataHeapPtr + length, 0);
      return JSON.parse(readCString(this.mem, result, Number.MAX_SAFE_INTEGER, "the result"));
    }
    exports.opa_heap_ptr_set(this.dataHeapPtr);
    const inputAddr = text === undefined ? 0 : loadJson(exports, this.mem, text);
    const context = exports.opa_eval_ctx_new();
    if (inputAddr !== 0) exports.opa_eval_ctx_set_input(context, inputAddr);
    exports.opa_eval_ctx_set_data(context, this.dataAddr);
    exports.opa_eval_ctx_set_entrypoint(context, id);
    exports.eval(context);
    return JSON.parse(readCString(this.mem, exports.opa_json_dump(exports.opa_eval_ctx_get_result(context)), Number.MAX_SAFE_INTEGER, "the result"));
  }
}

/**
 * Instantiates `module` with this host's imports: builtins from `builtins` by name (a builtin the
 * module imports but `builtins` lacks fails the evaluation that calls it; callers refuse such
 * modules at load, builtins/check.ts). Throws a PolicyKernelError for a module that is not an
 * OPA policy of ABI 1.
 */
export function instantiatePolicy(module: WebAssembly.Module, builtins: Readonly<Record<string, WasmBuiltin>>, file?: string): PolicyInstance {
  const where = { ...(file === undefined ? {} : { file }), expected: "a module built by `opa build -t wasm`" };
  const memory = new WebAssembly.Memory({ initial: 5 });
  // Filled once the instance exists: the imports close over it.
  const linked: { exports?: PolicyExports; names: ReadonlyMap<number, string> } = { names: new Map() };
  const table = new Map(Object.entries(builtins));

  const call = (id: number, args: readonly number[]): number => {
    const { exports, names } = linked;
    if (!exports) throw new PolicyKernelError("engine_error", "policy.wasm called a builtin while it was being instantiated");
    const name = names.get(id);
    if (name === undefined) throw new PolicyKernelError("engine_error", `policy.wasm called builtin id ${id}, which its builtins() table does not list`);
    const builtin = table.get(name);
    if (builtin === undefined) throw new PolicyKernelError("engine_error", `policy.wasm called builtin ${name}, which this host does not implement`);
    const values = args.map((address) => readValue(exports, memory, address, name));
    return writeResult(exports, memory, builtin(...values), name);
  };

  const env = {
    memory,
    opa_abort(address: number): never {
      throw new PolicyKernelError("engine_error", `policy.wasm aborted: ${readCString(memory, address, MAX_ABORT_BYTES, "the abort message", true)}`);
    },
    // print() output: nothing is written (stdout may carry a protocol, and a decision writes no logs).
    opa_println(): void {},
    opa_builtin0: (id: number) => call(id, []),
    opa_builtin1: (id: number, _context: number, a: number) => call(id, [a]),
    opa_builtin2: (id: number, _context: number, a: number, b: number) => call(id, [a, b]),
    opa_builtin3: (id: number, _context: number, a: number, b: number, c: number) => call(id, [a, b, c]),
    opa_builtin4: (id: number, _context: number, a: number, b: number, c: number, d: number) => call(id, [a, b, c, d]),
  };
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, { env });
  } catch (error) {
    throw new PolicyKernelError("invalid_bundle", `policy.wasm could not be instantiated: ${errorMessage(error)}`, where);
  }
  const exports = instance.exports as unknown as PolicyExports;
  const major = globalNumber(exports.opa_wasm_abi_version);
  if (major !== 1) throw new PolicyKernelError("invalid_bundle", `policy.wasm has OPA Wasm ABI version ${major ?? "none"}, not 1`, where);
  const minor = globalNumber(exports.opa_wasm_abi_minor_version) ?? 0;
  try {
    const ids = readIdTable(exports, memory, exports.builtins(), "builtins()");
    linked.names = new Map(Object.entries(ids).map(([name, id]) => [id, name]));
    const policy = new PolicyInstance(instance, memory, linked.names, minor);
    linked.exports = exports;
    return policy;
  } catch (error) {
    throw new PolicyKernelError("invalid_bundle", `policy.wasm could not be prepared: ${errorMessage(error)}`, where);
  }
}

function globalNumber(value: WebAssembly.Global | number | undefined): number | undefined {
  const read: unknown = typeof value === "number" ? value : value?.value;
  return typeof read === "number" ? read : undefined;
}

/** A `{name: id}` table the module dumps (`builtins()`, `entrypoints()`): own integer ids only. */
function readIdTable(exports: PolicyExports, memory: WebAssembly.Memory, value: number, what: string): Record<string, number> {
  const parsed: unknown = JSON.parse(readCString(memory, exports.opa_json_dump(value), MAX_ARGUMENT_BYTES, what));
  if (!isPlainObject(parsed) || !Object.values(parsed).every((id) => Number.isSafeInteger(id))) {
    throw new PolicyKernelError("invalid_bundle", `policy.wasm's ${what} is not a table of names to integer ids`, { expected: "a module built by `opa build -t wasm`" });
  }
  return parsed as Record<string, number>;
}

/** The NUL-terminated UTF-8 text at `address`; at most `limit` bytes (`truncate`: cut there, else fail). */
function readCString(memory: WebAssembly.Memory, address: number, limit: number, what: string, truncate = false): string {
  const bytes = new Uint8Array(memory.buffer);
  if (!Number.isInteger(address) || address < 0 || address >= bytes.length) throw new PolicyKernelError("engine_error", `policy.wasm gave ${what} at address ${address}, outside its memory`);
  const stop = Math.min(bytes.length, address + limit + 1);
  let end = bytes.indexOf(0, address);
  if (end < 0 || end >= stop) {
    if (!truncate) throw new PolicyKernelError("engine_error", `policy.wasm gave ${what} longer than ${limit} bytes or not terminated`);
    end = Math.min(stop - 1, bytes.length);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + address, end - address).toString("utf8");
}

/** One builtin argument, read as Rego text (opa_value_dump; opa_json_dump in modules without it). */
function readValue(exports: PolicyExports, memory: WebAssembly.Memory, address: number, builtin: string): unknown {
  const dump = exports.opa_value_dump ?? exports.opa_json_dump;
  let text: number;
  try {
    text = dump.call(exports, address);
  } catch (error) {
    // The module's writer recurses: a value nested deeply enough overflows the stack in it.
    throw new PolicyKernelError("engine_error", `policy.wasm could not write an argument of ${builtin}: ${errorMessage(error)}`);
  }
  if (text === 0) throw new PolicyKernelError("engine_error", `policy.wasm could not write an argument of ${builtin}`);
  const read = readCString(memory, text, MAX_ARGUMENT_BYTES, `an argument of ${builtin}`);
  exports.opa_free?.(text);
  try {
    return parseValueText(read);
  } catch (error) {
    throw new PolicyKernelError("engine_error", `policy.wasm gave ${builtin} an argument this host cannot read: ${errorMessage(error)}`);
  }
}

/** A builtin's result into the module: 0 for undefined, else the parsed value's address. */
function writeResult(exports: PolicyExports, memory: WebAssembly.Memory, result: unknown, builtin: string): number {
  if (result === undefined) return 0;
  const exact = result instanceof ArrayBuffer;
  const bytes = exact ? new Uint8Array(result) : Buffer.from(writeValueText(result), "utf8");
  const parse = exact || !exports.opa_value_parse ? exports.opa_json_parse : exports.opa_value_parse;
  const address = copyIn(exports, memory, bytes);
  const value = parse.call(exports, address, bytes.byteLength);
  if (value === 0) throw new PolicyKernelError("engine_error", `policy.wasm could not read the result of ${builtin}`);
  return value;
}

function copyIn(exports: PolicyExports, memory: WebAssembly.Memory, bytes: Uint8Array): number {
  const address = exports.opa_malloc(bytes.byteLength);
  new Uint8Array(memory.buffer).set(bytes, address);
  return address;
}

function loadJson(exports: PolicyExports, memory: WebAssembly.Memory, json: string | ArrayBuffer | Uint8Array): number {
  const bytes = typeof json === "string" ? Buffer.from(json, "utf8") : json instanceof ArrayBuffer ? new Uint8Array(json) : json;
  const value = exports.opa_json_parse(copyIn(exports, memory, bytes), bytes.byteLength);
  if (value === 0) throw new PolicyKernelError("invalid_input", "policy.wasm could not parse a JSON value given to it");
  return value;
}
