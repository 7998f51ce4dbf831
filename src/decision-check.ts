// Hand-written acceptance of ViolationSchema and DecisionSchema for hot paths (every reward,
// every runner step); property tests hold them equal to the schemas, which still explain rejections.
import { ViolationSourceSchema, ViolationTypeSchema, isSeverity, isSignalName, type Decision, type Provenance, type Violation } from "./schemas.js";
import { isPlainObject } from "./values.js";
import { boundedDetails, isViolationDetails } from "./violation-details.js";

const TYPE_SET: ReadonlySet<unknown> = new Set(ViolationTypeSchema.options);
const SOURCE_SET: ReadonlySet<unknown> = new Set(ViolationSourceSchema.options);

/** ViolationSchema's checks: true exactly when the schema accepts the value. */
export function isViolation(value: unknown): value is Violation {
  if (!isPlainObject(value)) return false;
  const { type, policy, rule, severity, description, blocked, penalty, source, signal, details } = value;
  return (
    TYPE_SET.has(type) &&
    typeof policy === "string" &&
    typeof rule === "string" &&
    isSeverity(severity) &&
    typeof description === "string" &&
    typeof blocked === "boolean" &&
    typeof penalty === "number" &&
    Number.isFinite(penalty) &&
    penalty >= 0 &&
    SOURCE_SET.has(source) &&
    (signal === undefined || isSignalName(signal)) &&
    (details === undefined || isViolationDetails(details))
  );
}

/**
 * DecisionSchema's parse without zod: the Decision the schema would return (known keys only,
 * fresh objects but a frozen provenance), or undefined exactly when the schema rejects the value.
 */
export function readDecision(value: unknown): Decision | undefined {
  if (!isPlainObject(value)) return undefined;
  const { allowed, violations, signals, provenance } = value;
  if (typeof allowed !== "boolean" || !Array.isArray(violations) || !Array.isArray(signals)) return undefined;
  const copies: Violation[] = [];
  for (const violation of violations) {
    if (!isViolation(violation)) return undefined;
    copies.push(copyViolation(violation));
  }
  for (const signal of signals) if (!isSignalName(signal)) return undefined;
  const checked = readProvenance(provenance);
  if (!checked) return undefined;
  return { allowed, violations: copies, signals: [...signals] as string[], provenance: checked };
}

/** A fresh Violation with the schema's fields only. */
export function copyViolation(v: Violation): Violation {
  const copy: Violation = {
    type: v.type,
    policy: v.policy,
    rule: v.rule,
    severity: v.severity,
    description: v.description,
    blocked: v.blocked,
    penalty: v.penalty,
    source: v.source,
  };
  // zod keeps an optional key that is present, even when it holds undefined.
  if ("signal" in v) copy.signal = v.signal;
  if ("details" in v) copy.details = v.details === undefined ? undefined : boundedDetails(v.details);
  return copy;
}

function readProvenance(value: unknown): Provenance | undefined {
  if (!isPlainObject(value)) return undefined;
  const { bundleRevision, bundleSha256, dataSha256, rulesSha256 } = value;
  const ok = (field: unknown): field is string | null => field === null || typeof field === "string";
  if (!ok(bundleRevision) || !ok(bundleSha256) || !ok(dataSha256) || !ok(rulesSha256)) return undefined;
  // Any other provenance is copied from the values just checked: reading it again could give others (a getter).
  return immutableProvenances.has(value as Provenance) ? (value as Provenance) : { bundleRevision, bundleSha256, dataSha256, rulesSha256 };
}

/**
 * Provenances that cannot change: made by freezeProvenance from plain fields (the kernel's, one
 * object for all its decisions, and the sealed copies of others). Known by identity: a frozen
 * object from elsewhere may still have getters.
 */
const immutableProvenances = new WeakSet<Provenance>();

/** Freezes a provenance the caller just built from plain values, so keptProvenance keeps it as it is. */
export function freezeProvenance(provenance: Provenance): Provenance {
  immutableProvenances.add(Object.freeze(provenance));
  return provenance;
}

/** A provenance from freezeProvenance, as it is (it stays the kernel's); anything else, a four-field copy. */
export function keptProvenance(provenance: Provenance): Provenance {
  if (immutableProvenances.has(provenance)) return provenance;
  const { bundleRevision, bundleSha256, dataSha256, rulesSha256 } = provenance;
  return { bundleRevision, bundleSha256, dataSha256, rulesSha256 };
}
