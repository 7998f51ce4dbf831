import { canonicalJson } from "../canonical-json.js";
import { copyViolation, freezeProvenance, keptProvenance } from "../decision-check.js";
import type { Decision, Provenance, Violation } from "../schemas.js";

/**
 * Decisions the kernel hands its audit sink: deeply frozen copies of the ones it returns, made
 * by the kernel itself, so their shape is the schema's and nothing can change them. The
 * FlightRecorder keeps a sealed decision as it is and writes its canonical JSON by that shape:
 * the generic deep copy and encoding of a decision were about half the cost of recording one.
 */
const SEALED = new WeakSet<object>();

/** canonicalJson of each sealed provenance: the revision and three SHA-256s, most of an allowed decision's JSON. */
const provenanceJson = new WeakMap<Provenance, string>();

/**
 * A deeply frozen copy of `decision` that isSealedDecision recognises; the caller keeps the
 * original, which it may still change. Only for decisions buildDecision made (the kernel's): the
 * copy and its JSON carry the schema's fields only, of the schema's types. A provenance from
 * freezeProvenance (the kernel's) is kept as it is and encoded once; any other is copied and frozen.
 */
export function sealDecision(decision: Decision): Decision {
  // Frozen at run time; typed as the Decision sinks are given.
  const sealed = Object.freeze({
    allowed: decision.allowed,
    provenance: sealProvenance(decision.provenance),
    signals: Object.freeze([...decision.signals]),
    violations: Object.freeze(decision.violations.map(sealViolation)),
  }) as Decision;
  SEALED.add(sealed);
  return sealed;
}

/** True only for what sealDecision returned. */
export function isSealedDecision(value: unknown): value is Decision {
  return typeof value === "object" && value !== null && SEALED.has(value);
}

/** canonicalJson of a sealed decision, member by member in code-unit order: same bytes, under half the time of stringifying a generic copy. */
export function sealedDecisionJson(decision: Decision): string {
  let violations = "";
  for (const violation of decision.violations) violations += `${violations === "" ? "" : ","}${violationJson(violation)}`;
  return `{"allowed":${decision.allowed},"provenance":${sealedProvenanceJson(decision.provenance)},"signals":${JSON.stringify(decision.signals)},"violations":[${violations}]}`;
}

function sealViolation(violation: Violation): Violation {
  return Object.freeze(copyViolation(violation));
}

// JSON.stringify writes a non-finite penalty as null, as the recorder's generic copy does.
function violationJson(v: Violation): string {
  const signal = v.signal === undefined ? "" : `"signal":${JSON.stringify(v.signal)},`;
  const details = v.details === undefined ? "" : `"details":${canonicalJson(v.details)},`;
  return `{"blocked":${v.blocked},"description":${JSON.stringify(v.description)},${details}"penalty":${JSON.stringify(v.penalty)},"policy":${JSON.stringify(v.policy)},"rule":${JSON.stringify(v.rule)},"severity":${JSON.stringify(v.severity)},${signal}"source":${JSON.stringify(v.source)},"type":${JSON.stringify(v.type)}}`;
}

// The kernel's provenance came from freezeProvenance (one object for all its decisions): kept as it is.
function sealProvenance(provenance: Provenance): Provenance {
  const kept = keptProvenance(provenance);
  return kept === provenance ? kept : freezeProvenance(kept);
}

function sealedProvenanceJson(provenance: Provenance): string {
  let json = provenanceJson.get(provenance);
  if (json === undefined) {
    json = canonicalJson(provenance);
    provenanceJson.set(provenance, json);
  }
  return json;
}
