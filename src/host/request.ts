import type { z } from "zod";
import { isPlainObject } from "../values.js";
import { MAX_JSON_DEPTH, forbiddenExpectation, isForbiddenKey, jsonTextDepth } from "../safe-json.js";
import { issuePath } from "../errors.js";
import { HostError, OP_PARAMS, RequestIdSchema, type OpName, type RequestId } from "./protocol.js";

/** A request line read and checked: its id, op and params (without id and op). */
export interface ParsedRequest {
  readonly id: RequestId;
  readonly op: OpName;
  readonly params: Readonly<Record<string, unknown>>;
}

/** A request that could not be read: the error, and the id when one was readable. */
export class RequestError extends Error {
  readonly id: RequestId | null;
  readonly error: HostError;

  constructor(id: RequestId | null, error: HostError) {
    super(error.message);
    this.id = id;
    this.error = error;
  }
}

/**
 * The first hazard in a parsed request: a key that reaches a prototype, or a number JSON.parse made
 * infinite (1e400). Iterative, so depth cannot overflow here (the text's depth is capped before).
 */
function requestHazard(value: unknown): { path: PropertyKey[]; problem: string; expected: string } | undefined {
  const stack: Array<{ value: unknown; path: PropertyKey[] }> = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === "number") {
      if (!Number.isFinite(current)) return { path, problem: "a number too large to be finite", expected: "a finite number" };
      continue;
    }
    if (current === null || typeof current !== "object") continue;
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: [...path, i] });
      continue;
    }
    for (const key of Object.keys(current)) {
      if (isForbiddenKey(key)) return { path: [...path, key], problem: `forbidden key "${key}"`, expected: forbiddenExpectation() };
      stack.push({ value: (current as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return undefined;
}

/** The request's id when it has a valid one (so an error reply can carry it), else null. */
function readableId(value: unknown): RequestId | null {
  if (!isPlainObject(value) || !Object.hasOwn(value, "id")) return null;
  const parsed = RequestIdSchema.safeParse(value["id"]);
  return parsed.success ? parsed.data : null;
}

/** The first zod issue as an invalid_request naming the param (an unknown param by its name). */
export function paramsError(error: z.ZodError, root = ""): HostError {
  const issue = error.issues[0];
  if (issue === undefined) return new HostError("invalid_request", "invalid params");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const field = issuePath([...issue.path, key], root);
    return new HostError("invalid_request", `unknown param "${field}"`, { field, expected: "only the params the op documents" });
  }
  const field = issuePath(issue.path, root);
  return new HostError("invalid_request", `${field}: ${issue.message}`, { field });
}

/** Checks `params` against op's schema; HostError invalid_request naming the param otherwise. */
export function checkParams(op: OpName, params: Record<string, unknown>, root = ""): Record<string, unknown> {
  const parsed = OP_PARAMS[op].safeParse(params);
  if (!parsed.success) throw paramsError(parsed.error, root);
  return parsed.data as Record<string, unknown>;
}

/** Whether `op` names an op the host serves (own keys only: "constructor" is not an op). */
export function isOpName(op: string): op is OpName {
  return Object.hasOwn(OP_PARAMS, op);
}

/** The members of a request besides id and op. */
export function paramsOf(request: Record<string, unknown>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const key of Object.keys(request)) if (key !== "id" && key !== "op") params[key] = request[key];
  return params;
}

/**
 * Reads one request line: JSON no deeper than MAX_JSON_DEPTH, an object with an id and a known
 * op, no prototype keys, no infinite numbers, params as the op's schema says. Throws RequestError.
 */
export function readRequest(text: string): ParsedRequest {
  if (jsonTextDepth(text) > MAX_JSON_DEPTH) {
    throw new RequestError(null, new HostError("invalid_request", `request nested deeper than ${MAX_JSON_DEPTH} levels`, { expected: `at most ${MAX_JSON_DEPTH} levels of arrays and objects` }));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RequestError(null, new HostError("invalid_request", `not JSON: ${(error as Error).message}`, { expected: 'one JSON object per line: {"id": 1, "op": "hello"}' }));
  }
  const id = readableId(value);
  if (!isPlainObject(value)) {
    throw new RequestError(null, new HostError("invalid_request", "a request is a JSON object", { expected: 'one JSON object per line: {"id": 1, "op": "hello"}' }));
  }
  const hazard = requestHazard(value);
  if (hazard) throw new RequestError(id, new HostError("invalid_request", hazard.problem, { field: issuePath(hazard.path), expected: hazard.expected }));
  if (id === null) {
    throw new RequestError(null, new HostError("invalid_request", "the request has no valid id", { field: "id", expected: "an integer or a string of at most 256 characters" }));
  }
  const op = value["op"];
  if (typeof op !== "string") throw new RequestError(id, new HostError("invalid_request", "the request has no op", { field: "op", expected: "the name of an op, such as hello" }));
  if (!isOpName(op)) throw new RequestError(id, new HostError("unknown_op", `unknown op "${op}"`, { field: "op", expected: `one of ${Object.keys(OP_PARAMS).join(", ")}` }));
  try {
    return { id, op, params: checkParams(op, paramsOf(value)) };
  } catch (error) {
    throw new RequestError(id, error as HostError);
  }
}
