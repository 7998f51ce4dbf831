import type { WasmPolicy } from "./wasm-instance.js";
import { wholeJson } from "./projection-tree.js";
import { toJsonValue } from "./rego-value.js";
import { parseValueText } from "./value-text.js";

const PAGE = 64 * 1024;

interface EvalExports {
  opa_eval(reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heapPtr: number, format: number): number;
}

/**
 * The id of entrypoint `name` in the module's `entrypoints` map, or undefined when it has none:
 * an own number only, so a name such as `constructor` is missing, not Object's function (which
 * `opa_eval` would take as id 0, another entrypoint).
 */
export function entrypointIdOf(entrypoints: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const id = Object.hasOwn(entrypoints, name) ? entrypoints[name] : undefined;
  return typeof id === "number" ? id : undefined;
}

/** How `opa_eval` writes a result (its `format` argument) and how its text is read back. */
export interface ResultReader {
  readonly format: 0 | 1;
  readonly read: (text: string) => unknown;
}

const JSON_RESULT: ResultReader = { format: 0, read: (text) => JSON.parse(text) as unknown };

/**
 * Results as OPA's Go evaluator writes them: read as Rego value text, then made JSON as `ast.JSON`
 * does (a set becomes an array in OPA's sorted order, not the Wasm's insertion order), so a
 * Gatekeeper `details` set reads as `opa eval` prints it. Only for one's own OPA entrypoints: the
 * default library's results hold no sets and take the faster JSON path.
 */
export const REGO_VALUE_RESULT: ResultReader = { format: 1, read: (text) => toJsonValue(parseValueText(text)) };

/** Calls one entrypoint of a loaded policy through the ABI directly; returns the parsed result set. */
export type WasmEvaluate = (input: unknown) => unknown;

/**
 * The ABI 1.2 one-shot `opa_eval` as the SDK's `LoadedPolicy.evaluate` does it (opa-wasm src/opa.js), minus
 * its per-call costs: no TextEncoder/TextDecoder per call (a Buffer view over the Wasm memory is
 * written and read in place), the entrypoint resolved once. The input goes where the SDK puts it,
 * at the heap pointer left after the data, and `opa_eval` resets the heap to just past it, so
 * memory stays flat across evaluations. Undefined when the module predates ABI 1.2; the caller
 * then keeps `policy.evaluate`. Must be created after `setData` (it captures the data address).
 * `toJson` writes the input's text: by default the whole input, as the SDK sends it. `parse` reads
 * the result: by default as JSON (format 0), where a set is an array in the Wasm's insertion order;
 * with `readRegoValues`, as Rego's value text (format 1), sets in OPA's order.
 */
export function createWasmEvaluate(policy: WasmPolicy, entrypoint: number, toJson: (input: unknown) => string = wholeJson, parse: ResultReader = JSON_RESULT): WasmEvaluate | undefined {
  const minor = Number(policy.minorVersion);
  const instance = policy.wasmInstance as WebAssembly.Instance;
  const exports = instance.exports as unknown as Partial<EvalExports>;
  if (!(minor >= 2) || typeof exports.opa_eval !== "function") return undefined;
  const opaEval = exports.opa_eval.bind(exports);
  const memory = policy.mem;
  const dataAddr = policy.dataAddr;
  const inputAddr = Number(policy.dataHeapPtr);
  let buffer = memory.buffer;
  let view = Buffer.from(buffer);

  return (input: unknown): unknown => {
    const text = toJson(input);
    // UTF-8 needs at most 3 bytes per UTF-16 code unit. A grown memory detaches the old buffer
    // (its byteLength turns 0), so one length test covers both; `memory.buffer` is a slower getter.
    if (inputAddr + text.length * 3 > buffer.byteLength) {
      const room = inputAddr + text.length * 3 - memory.buffer.byteLength;
      if (room > 0) memory.grow(Math.ceil(room / PAGE));
      buffer = memory.buffer;
      view = Buffer.from(buffer);
    }
    const length = text.length === 0 ? 0 : view.write(text, inputAddr);
    const resultAddr = opaEval(0, entrypoint, dataAddr, length === 0 ? 0 : inputAddr, length, inputAddr + length, parse.format);
    // Evaluation may have grown the memory, which detaches the old buffer.
    if (buffer.byteLength === 0) {
      buffer = memory.buffer;
      view = Buffer.from(buffer);
    }
    const end = view.indexOf(0, resultAddr);
    return parse.read(view.toString("utf8", resultAddr, end < 0 ? view.length : end));
  };
}

/** One evaluation of `entrypoint` with no input (a data-only rule, read once at load): the direct call, else the SDK's. */
export function evaluateWithoutInput(policy: WasmPolicy, entrypoint: number): unknown {
  const direct = createWasmEvaluate(policy, entrypoint);
  return direct ? direct(undefined) : policy.evaluate(undefined, entrypoint);
}
