import { z } from "zod";
import { PolicyKernelError } from "../errors.js";
import { kernelSection } from "../engines/rego/bundle.js";
import type { ActionBody } from "../schemas.js";
import { isPlainObject } from "../values.js";
import { kernelViolation } from "./decision.js";
import type { Violation } from "../schemas.js";

// Tools that carry SQL, messages or money: a tool_call to one of them is evaluated as itself (may
// this role call the tool) and as the native action it carries, so one payload gets one decision
// whether it comes as `{type: "sql"}` or as `{type: "tool_call", tool: "sql_query", args: {sql}}`.

const ArgNamesSchema = z.array(z.string().min(1)).min(1);

/** How a registered tool's args map to a native action; each list names args in the order they are read. */
export const ToolMappingSchema = z.discriminatedUnion("as", [
  /** Every listed arg present must be SQL text; each is analysed as its own `sql` action. */
  z.strictObject({ as: z.literal("sql"), sql: ArgNamesSchema }),
  /** Recipients from every listed `to` arg (a string or a list of strings), text from every listed `text` arg. */
  z.strictObject({ as: z.literal("message"), to: ArgNamesSchema, text: ArgNamesSchema }),
  /** The amount (a finite number >= 0; every listed arg present must agree) and the recipient. */
  z.strictObject({ as: z.literal("transaction"), amountUsd: ArgNamesSchema, recipient: ArgNamesSchema }),
]);
export type ToolMapping = z.infer<typeof ToolMappingSchema>;

/** A registry: tool name → mapping; `false` removes a default entry. */
export const ToolRegistrySchema = z.record(z.string().min(1), z.union([ToolMappingSchema, z.literal(false)]));
export type ToolRegistryInput = z.input<typeof ToolRegistrySchema>;

const SQL_TOOL: ToolMapping = { as: "sql", sql: ["sql", "query"] };
const MESSAGE_TOOL: ToolMapping = { as: "message", to: ["to", "cc", "bcc", "recipients"], text: ["subject", "text", "body", "message", "content"] };
const MONEY_TOOL: ToolMapping = { as: "transaction", amountUsd: ["amountUsd", "amount_usd", "amount"], recipient: ["recipient", "to", "payee"] };

/**
 * The default registry. A refund tool that takes only an order id (the demo's `issue_refund`)
 * carries no amount to check, so it is not registered by default; register it when it does.
 */
export const DEFAULT_TOOL_REGISTRY: Readonly<Record<string, ToolMapping>> = Object.freeze({
  sql_query: SQL_TOOL,
  send_email: MESSAGE_TOOL,
  send_message: MESSAGE_TOOL,
  transfer_funds: MONEY_TOOL,
  make_payment: MONEY_TOOL,
});

/** Where a bundle extends the registry. */
export const TOOL_REGISTRY_FIELD = "data.policy_kernel.tool_registry";

/**
 * The registry in force: the defaults, then the data's `policy_kernel.tool_registry`, then the
 * `toolRegistry` option (`false` unregisters a tool). Validated here: a bad entry is a load error
 * naming its field. A Map, so no tool name can reach a prototype.
 */
export function buildToolRegistry(data: Record<string, unknown>, option: ToolRegistryInput | undefined): ReadonlyMap<string, ToolMapping> {
  const registry = new Map<string, ToolMapping>(Object.entries(DEFAULT_TOOL_REGISTRY));
  const layers: [unknown, string][] = [
    [kernelSection(data)["tool_registry"], TOOL_REGISTRY_FIELD],
    [option, "createPolicyKernel.toolRegistry"],
  ];
  for (const [layer, field] of layers) {
    if (layer === undefined) continue;
    if (!isPlainObject(layer)) throw new PolicyKernelError("invalid_config", "the tool registry must be an object of tool name → mapping", { field });
    for (const tool of Object.keys(layer)) {
      const where = `${field}.${tool}`;
      const entry = Object.getOwnPropertyDescriptor(layer, tool)?.value;
      if (entry === false) {
        registry.delete(tool);
        continue;
      }
      const parsed = ToolMappingSchema.safeParse(entry);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new PolicyKernelError("invalid_config", `bad tool registry entry: ${issue?.message ?? "invalid"}`, {
          field: [where, ...(issue?.path ?? []).map(String)].join("."),
          expected: '{as: "sql", sql: [...]}, {as: "message", to: [...], text: [...]} or {as: "transaction", amountUsd: [...], recipient: [...]}',
        });
      }
      registry.set(tool, parsed.data);
    }
  }
  return registry;
}

/** What a registered tool call carries: the native actions to evaluate too, or why its args do not fit. */
export type CarriedActions = { readonly ok: true; readonly actions: readonly ActionBody[] } | { readonly ok: false; readonly violation: Violation };

/** The native actions a call of a registered tool carries (its args are a frozen copy). */
export function carriedActions(tool: string, mapping: ToolMapping, args: unknown): CarriedActions {
  const given = isPlainObject(args) ? args : {};
  const present = (names: readonly string[]): [string, unknown][] => names.filter((name) => Object.hasOwn(given, name) && given[name] !== undefined).map((name) => [name, given[name]]);
  const misfit = (what: string): CarriedActions => ({
    ok: false,
    violation: kernelViolation("tool_args_mismatch", `tool ${JSON.stringify(tool)} is registered as ${mapping.as}, but ${what}`, "kernel", false),
  });
  switch (mapping.as) {
    case "sql": {
      const texts = present(mapping.sql);
      if (texts.length === 0) return misfit(`its args carry none of ${names(mapping.sql)}`);
      const bad = texts.find(([, value]) => typeof value !== "string");
      if (bad) return misfit(`args.${bad[0]} is not a string`);
      return { ok: true, actions: texts.map(([, sql]) => ({ type: "sql", sql: sql as string })) };
    }
    case "message": {
      const recipients: string[] = [];
      for (const [name, value] of present(mapping.to)) {
        const list = typeof value === "string" ? [value] : Array.isArray(value) ? value : undefined;
        if (!list || !list.every((item) => typeof item === "string")) return misfit(`args.${name} is neither a string nor a list of strings`);
        recipients.push(...(list as string[]));
      }
      const to = recipients.filter((r) => r.length > 0).join(", ");
      if (to.length === 0) return misfit(`its args name no recipient in ${names(mapping.to)}`);
      const texts: string[] = [];
      for (const [name, value] of present(mapping.text)) {
        if (typeof value !== "string") return misfit(`args.${name} is not a string`);
        texts.push(value);
      }
      // The other args ride along, so a scan of a message's extra fields sees them too.
      const mapped = new Set([...mapping.to, ...mapping.text, "type"]);
      const extra = Object.fromEntries(Object.entries(given).filter(([key]) => !mapped.has(key) && key !== "__proto__"));
      return { ok: true, actions: [{ ...extra, type: "message", to, text: texts.join("\n") }] };
    }
    case "transaction": {
      const amounts = present(mapping.amountUsd);
      if (amounts.length === 0) return misfit(`its args carry no amount in ${names(mapping.amountUsd)}`);
      const bad = amounts.find(([, value]) => typeof value !== "number" || !Number.isFinite(value) || value < 0);
      if (bad) return misfit(`args.${bad[0]} is not a finite amount >= 0`);
      if (new Set(amounts.map(([, value]) => value)).size > 1) return misfit(`its args name different amounts (${amounts.map(([name]) => name).join(", ")})`);
      const recipients = present(mapping.recipient);
      if (recipients.length === 0 || !recipients.every(([, value]) => typeof value === "string" && value.length > 0)) {
        return misfit(`its args name no recipient (a non-empty string) in ${names(mapping.recipient)}`);
      }
      if (new Set(recipients.map(([, value]) => value)).size > 1) return misfit(`its args name different recipients (${recipients.map(([name]) => name).join(", ")})`);
      return { ok: true, actions: [{ type: "transaction", amountUsd: amounts[0]![1] as number, recipient: recipients[0]![1] as string }] };
    }
  }
}

function names(list: readonly string[]): string {
  return list.map((name) => `args.${name}`).join(", ");
}
