// Public API. Named exports only (no `export *`), so what is public is a decision.
export { createPolicyKernel, PolicyKernelOptionsSchema } from "./kernel/create-kernel.js";
export type { PolicyKernelOptions } from "./kernel/create-kernel.js";
export type { PolicyKernel, EvaluateOptions } from "./kernel/types.js";
export type { KernelAuditSink, KernelAuditEvent, PolicyCheckEvent, SignalEvent } from "./kernel/audit-sink.js";
export {
  sqlPolicy,
  costControlPolicy,
  toolsPolicy,
  piiPolicy,
  transactionPolicy,
  businessHoursPolicy,
  rateLimitPolicy,
  readOnlyPolicy,
} from "./kernel/policies.js";
export type { PolicySpec } from "./kernel/policies.js";
export { defaultBundlePath, defaultRulesPath, DEFAULT_REGO_POLICIES, DEFAULT_JSON_POLICIES } from "./kernel/defaults.js";
export { analyzeSql } from "./kernel/sql-facts.js";
export { toPolicyInput } from "./kernel/enrich.js";
export { readBundle } from "./engines/rego/bundle.js";
export type { PolicyBundle } from "./engines/rego/bundle.js";
export { createRegoEngine, DEFAULT_ENTRYPOINT } from "./engines/rego/rego-engine.js";
export type { PolicyEngine, EngineSource } from "./engines/engine.js";
export { loadDecisionCases, runDecisionCases } from "./testing/decision-cases.js";
export type { DecisionCase, CaseResult } from "./testing/decision-cases.js";
export { PolicyKernelError, isPolicyKernelError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export { canonicalJson, sha256Hex } from "./canonical-json.js";
export {
  ActionSchema,
  ActionBodySchema,
  ActionContextSchema,
  DecisionSchema,
  ViolationSchema,
  PolicyFindingSchema,
  PolicyInputSchema,
  SeveritySchema,
  DEFAULT_SEVERITY_PENALTY,
} from "./schemas.js";
export type { Action, ActionInput, ActionBody, ActionContext, Decision, Violation, PolicyFinding, PolicyInput, Provenance, Severity } from "./schemas.js";
