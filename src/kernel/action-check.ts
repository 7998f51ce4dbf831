import { util } from "zod/v4/core";
import { CONTEXT_NOW_PATTERN, type Action } from "../schemas.js";
import { isPlainObject } from "../values.js";

/**
 * ActionSchema's acceptance for the common case, without zod: the kernel validates every
 * action, and zod's parse was about a tenth of a decision. Returns what the schema would return
 * (a fresh top level without unknown keys, `context` defaulting to `{}`), or undefined for
 * anything unusual or invalid; zod then decides and names the field. The body is returned as it
 * is, not copied: the kernel hands in its frozen copy (frozen-action.ts), and that one object is
 * what is evaluated, recorded and executed. A property test holds that an accepted value is one
 * the schema accepts, with the same output.
 */
export function readAction(raw: unknown): Action | undefined {
  if (!isPlainObject(raw)) return undefined;
  const { agentId, action: body, context } = raw;
  if (typeof agentId !== "string" || agentId.length === 0) return undefined;
  if (!isPlainObject(body) || !isActionBody(body) || hasProtoKey(body)) return undefined;
  if (context === undefined) return { agentId, action: body as Action["action"], context: {} };
  if (!isPlainObject(context) || !isContext(context) || hasProtoKey(context)) return undefined;
  return { agentId, action: body as Action["action"], context: { ...context } };
}

function isActionBody(body: Record<string, unknown>): boolean {
  const type = body["type"];
  switch (type) {
    case "sql":
      return typeof body["sql"] === "string";
    case "tool_call":
      return isNonEmptyString(body["tool"]) && (body["args"] === undefined || isPlainRecord(body["args"]));
    case "message":
      return isNonEmptyString(body["to"]) && typeof body["text"] === "string";
    case "transaction":
      return isAmount(body["amountUsd"]) && isNonEmptyString(body["recipient"]);
    default:
      return isNonEmptyString(type);
  }
}

function isContext(context: Record<string, unknown>): boolean {
  const { now, role, costUsd, spentUsd, actionsInWindow, readOnly, sqlDialect } = context;
  return (
    (now === undefined || (typeof now === "string" && CONTEXT_NOW_PATTERN.test(now))) &&
    (role === undefined || typeof role === "string") &&
    (costUsd === undefined || isAmount(costUsd)) &&
    (spentUsd === undefined || isAmount(spentUsd)) &&
    (actionsInWindow === undefined || (Number.isSafeInteger(actionsInWindow) && (actionsInWindow as number) >= 0)) &&
    (readOnly === undefined || typeof readOnly === "boolean") &&
    (sqlDialect === undefined || sqlDialect === "postgres" || sqlDialect === "sqlite")
  );
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** z.number().finite().nonnegative() */
function isAmount(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

/** What z.record(z.string(), …) takes without surprises: zod's plain object, string keys only. */
function isPlainRecord(value: unknown): boolean {
  return util.isPlainObject(value) && Object.getOwnPropertySymbols(value).length === 0 && !hasProtoKey(value as object);
}

/** zod assigns parsed keys, so an own `__proto__` key would come out as a prototype: leave it to zod. */
function hasProtoKey(value: object): boolean {
  return Object.hasOwn(value, "__proto__");
}

/**
 * The field of an own `__proto__` key where zod would copy it (the action body or the context; the
 * top level is rebuilt from its known keys), or undefined. zod's loose objects assign unknown keys, so such a key would become
 * the parsed copy's prototype: `context.role` read in TypeScript would then be the agent's.
 */
export function protoKeyField(raw: unknown): string | undefined {
  if (!isPlainObject(raw)) return undefined;
  for (const part of ["action", "context"] as const) {
    const value = Object.hasOwn(raw, part) ? raw[part] : undefined;
    if (isPlainObject(value) && hasProtoKey(value)) return `${part}.__proto__`;
  }
  return undefined;
}
