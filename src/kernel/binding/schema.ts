import { z } from "zod";
import { isForbiddenKey } from "../../safe-json.js";
import { isPlainObject } from "../../values.js";

/** Where a reference may read: the agent's action, the trainer's trusted context, or the agent id. */
export const REFERENCE_ROOTS = ["action", "context", "agentId"] as const;

/** The parts of a URL the `url` transform takes: path segments (percent-decoded), path, path and query, host, query. */
export const UrlPartSchema = z.enum(["segments", "path", "target", "host", "query"]);
/** A part of a URL the `url` transform takes. */
export type UrlPart = z.infer<typeof UrlPartSchema>;

const ReferenceSchema = z
  .string()
  .regex(/^(action|context)(\.[^.]+)+$|^(action|context|agentId)$/, "a dotted path from action, context or agentId, such as action.args.url")
  .refine((path) => !path.split(".").some(isForbiddenKey), "no __proto__, constructor or prototype segment");

/**
 * One value of the input: a reference (`from`, with transforms) or a literal (`value`).
 * Transforms apply in this order: `url`, `split`, then `upper` or `lower`.
 */
export const TemplateLeafSchema = z
  .strictObject({
    /** Dotted path into `action`, `context` (the trainer's, never the agent's) or `agentId`. */
    from: ReferenceSchema.optional(),
    /** A JSON literal, copied as is. */
    value: z.json().optional(),
    /** The field may be missing: the policy then sees it absent. Without it, a missing field denies the action. */
    optional: z.boolean().optional(),
    /** The literal used when the field is missing. */
    default: z.json().optional(),
    /** Takes a part of a URL string (relative URLs such as /a/b are read against an http base). */
    url: UrlPartSchema.optional(),
    /** Splits a string at each occurrence of this separator. */
    split: z.string().min(1).optional(),
    /** Upper-cases a string, or each string of an array. */
    upper: z.literal(true).optional(),
    /** Lower-cases a string, or each string of an array. */
    lower: z.literal(true).optional(),
  })
  .superRefine((leaf, ctx) => {
    const hasFrom = leaf.from !== undefined;
    if (hasFrom === (leaf.value !== undefined)) {
      ctx.addIssue({ code: "custom", message: "exactly one of from or value", path: [] });
      return;
    }
    if (!hasFrom) {
      for (const key of ["optional", "default", "url", "split", "upper", "lower"] as const) {
        if (leaf[key] !== undefined) ctx.addIssue({ code: "custom", message: `${key} applies to from, not to a literal value`, path: [key] });
      }
    }
    if (leaf.upper && leaf.lower) ctx.addIssue({ code: "custom", message: "upper or lower, not both", path: ["lower"] });
    if (leaf.optional && leaf.default !== undefined) ctx.addIssue({ code: "custom", message: "optional or default, not both", path: ["default"] });
  });
/** One value of the input: a reference (`from`, with transforms) or a literal (`value`). */
export type TemplateLeaf = z.infer<typeof TemplateLeafSchema>;

/** A template: a leaf (it has `from` or `value`) or an object whose every member is a template. */
export type TemplateNode = TemplateLeaf | { readonly [key: string]: TemplateNode };

/** True when a template node is a leaf: it has a `from` or a `value` key. */
export function isTemplateLeaf(node: TemplateNode): node is TemplateLeaf {
  return Object.hasOwn(node, "from") || Object.hasOwn(node, "value");
}

const NODE_EXPECTED = "a {from: ...} or {value: ...} template, or an object whose members are templates";

/** Schema of {@link TemplateNode}; checked by hand below the leaves so an error names the exact field. */
export const TemplateNodeSchema: z.ZodType<TemplateNode> = z.custom<TemplateNode>().superRefine((raw, ctx) => {
  // Iterative walk: the binding file is already depth-bounded, but nothing here should recurse on data.
  const stack: Array<{ node: unknown; path: PropertyKey[] }> = [{ node: raw, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (!isPlainObject(node)) {
      ctx.addIssue({ code: "custom", message: `expected ${NODE_EXPECTED}`, path });
      continue;
    }
    if (Object.hasOwn(node, "from") || Object.hasOwn(node, "value")) {
      const result = TemplateLeafSchema.safeParse(node);
      if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: [...path, ...issue.path] });
      continue;
    }
    const keys = Object.keys(node);
    if (keys.length === 0) ctx.addIssue({ code: "custom", message: `an empty object (expected ${NODE_EXPECTED}; write {value: {}} for an empty object)`, path });
    for (const key of keys.reverse()) {
      if (isForbiddenKey(key)) ctx.addIssue({ code: "custom", message: `forbidden key "${key}"`, path: [...path, key] });
      else stack.push({ node: node[key], path: [...path, key] });
    }
  }
});

/** Which actions a binding applies to: an action type and, for `tool_call`, optionally one tool. */
export const BindingWhenSchema = z
  .strictObject({
    type: z.string().min(1),
    tool: z.string().min(1).optional(),
  })
  .refine((when) => when.tool === undefined || when.type === "tool_call", { message: "tool applies to type tool_call only", path: ["tool"] });
/** Which actions a binding applies to. */
export type BindingWhen = z.infer<typeof BindingWhenSchema>;

/** One binding: the actions it applies to and the template of the policy input built for them. */
export const BindingRuleSchema = z.strictObject({
  when: BindingWhenSchema,
  input: TemplateNodeSchema,
});
/** One binding: the actions it applies to and the template of the policy input built for them. */
export type BindingRule = z.infer<typeof BindingRuleSchema>;

/**
 * An input binding (docs/guides/input-binding.md): for each action type, or tool of a `tool_call`,
 * the input an unchanged infrastructure policy expects. Two bindings for the same `when` are an error.
 */
export const InputBindingSchema = z
  .strictObject({
    bindings: z.array(BindingRuleSchema).min(1),
  })
  .superRefine((binding, ctx) => {
    const seen = new Map<string, number>();
    binding.bindings.forEach((rule, index) => {
      const key = whenKey(rule.when);
      const first = seen.get(key);
      if (first !== undefined) ctx.addIssue({ code: "custom", message: `binds the same actions as bindings[${first}] (${describeWhen(rule.when)})`, path: ["bindings", index, "when"] });
      else seen.set(key, index);
    });
  });
/** An input binding: per action type or tool, the input template a policy expects. */
export type InputBinding = z.infer<typeof InputBindingSchema>;

/** A stable key for a `when`, for lookups and duplicate checks. */
export function whenKey(when: BindingWhen): string {
  return JSON.stringify([when.type, when.tool ?? null]);
}

/** `tool_call http_request`, or `sql`: a `when` in words. */
export function describeWhen(when: BindingWhen): string {
  return when.tool === undefined ? `type ${when.type}` : `type ${when.type}, tool ${when.tool}`;
}
