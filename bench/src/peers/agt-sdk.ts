import type { PolicyInput } from "../../../src/schemas.js";
import { costControlPolicy, toolsPolicy, transactionPolicy } from "../../../src/kernel/policies.js";
import { errorMessage } from "../../../src/errors.js";
import { DEFAULT_ACTION_TYPES } from "../../../src/kernel/action-types.js";
import { DEFAULT_TOOL_REGISTRY } from "../../../src/kernel/tool-registry.js";
import type { DefaultPolicyConfig } from "./predicate.js";

/** The kernel's policies the SDK row has equivalents of: the kernel side of the like-for-like row. */
export const sdkEquivalentPolicies = () => [toolsPolicy(), costControlPolicy(), transactionPolicy()];

/**
 * The kernel options of the like-for-like row: those policies, and none of the kernel's own
 * checks the SDK has no counterpart of (the allow-list of action types, the tool registry), so
 * both sides decide the same question.
 */
export const sdkEquivalentKernelOptions = () => ({
  policies: sdkEquivalentPolicies(),
  actionTypes: [...DEFAULT_ACTION_TYPES, "browse", "shell"],
  toolRegistry: Object.fromEntries(Object.keys(DEFAULT_TOOL_REGISTRY).map((tool) => [tool, false as const])),
});

/** Their configuration. */
type SdkPolicyConfig = Pick<DefaultPolicyConfig, "tools" | "cost" | "transactions">;

/** The slice of `@microsoft/agent-governance-sdk`'s PolicyEngine the benchmark calls. */
interface AgtPolicyEngine {
  loadPolicy(policy: unknown): void;
  evaluatePolicy(agentDid: string, context: Record<string, unknown>): { allowed: boolean; action: string; matchedRule?: string };
}

/** The default tools / cost / transactions configuration (rego/data.json) as the SDK's expression rules. */
function agtPolicies(config: SdkPolicyConfig): unknown[] {
  const list = (items: readonly string[]) => `[${items.map((item) => `'${item}'`).join(", ")}]`;
  const roles = Object.keys(config.tools.allow);
  const limitRoles = Object.keys(config.transactions.role_limits);
  const deny = (name: string, condition: string) => ({ name, condition, ruleAction: "deny", priority: 10 });
  return [
    {
      name: "tools",
      default_action: "allow",
      rules: [
        deny("unknown_role", `action.type == 'tool_call' and context.role not in ${list(roles)}`),
        ...roles.map((role) => deny(`tool_not_allowed_${role}`, `action.type == 'tool_call' and context.role == '${role}' and action.tool not in ${list(config.tools.allow[role] ?? [])}`)),
      ],
    },
    { name: "cost", default_action: "allow", rules: [deny("budget_exceeded", `facts.costUsdTotal > ${config.cost.max_cost_usd}`)] },
    {
      name: "transactions",
      default_action: "allow",
      rules: [
        ...limitRoles.map((role) =>
          deny(`over_role_limit_${role}`, `action.type == 'transaction' and context.role == '${role}' and action.amountUsd > ${config.transactions.role_limits[role]}`),
        ),
        deny("over_default_limit", `action.type == 'transaction' and context.role not in ${list(limitRoles)} and action.amountUsd > ${config.transactions.default_limit_usd}`),
        { name: "approval_required", condition: `action.type == 'transaction' and action.amountUsd > ${config.transactions.approval_threshold_usd}`, ruleAction: "require_approval", priority: 5 },
      ],
    },
  ];
}

/**
 * Loads the SDK (a devDependency, installed by `make bench` through `npm ci`) and returns a call
 * evaluating one enriched input, or the reason it cannot run.
 */
export async function agtSdkPeer(config: SdkPolicyConfig): Promise<{ evaluate: (input: PolicyInput) => boolean; version: string } | { error: string }> {
  let sdk: { PolicyEngine: new (rules?: unknown[], strategy?: string) => AgtPolicyEngine };
  try {
    sdk = (await import("@microsoft/agent-governance-sdk")) as unknown as typeof sdk;
  } catch (error) {
    return { error: `@microsoft/agent-governance-sdk could not be loaded: ${errorMessage(error)}` };
  }
  const engine = new sdk.PolicyEngine([], "deny_overrides");
  for (const policy of agtPolicies(config)) engine.loadPolicy(policy);
  const { createRequire } = await import("node:module");
  const version = (createRequire(import.meta.url)("@microsoft/agent-governance-sdk/package.json") as { version: string }).version;
  return {
    version,
    evaluate: (input) => engine.evaluatePolicy(input.agentId, input as unknown as Record<string, unknown>).allowed,
  };
}
