import { parse as parseYaml } from "yaml";
import { PolicyKernelError, errorMessage } from "../../errors.js";
import { EffectSchema, type Effect, type Severity, isSeverity } from "../../schemas.js";
import { getOwn } from "../../safe-json.js";
import { isPlainObject, shapeOf } from "../../values.js";

// OPA's annotations (https://www.openpolicyagent.org/docs/policy-language#annotations): a
// `# METADATA` comment block of YAML before a package or a rule. The Wasm module keeps none of
// them, but an `opa build` bundle ships its .rego sources, so they are read from there, at load.
// Only what a Decision needs is read: the scope, title, description and `custom` (severity,
// effect, penalty). A test holds this reading equal to `opa inspect -a` of the pinned OPA.

/** The scopes of OPA annotations: `rule` (default before a rule), `document`, `package` (default before `package`), `subpackages`. */
export type AnnotationScope = "rule" | "document" | "package" | "subpackages";

/** One METADATA block, with what it is attached to. */
export interface RegoAnnotation {
  readonly scope: AnnotationScope;
  /** The bundle path of the .rego file (`/authz.rego`) and the row of the statement annotated. */
  readonly file: string;
  readonly row: number;
  /** The package it belongs to, as Rego writes it (`httpapi.authz`). */
  readonly package: string;
  /** The rule it annotates (rule and document scope). */
  readonly rule?: string;
  readonly title?: string;
  readonly description?: string;
  readonly custom: Readonly<Record<string, unknown>>;
}

/** A Rego source file of a bundle: its path in the bundle and its text. */
export interface RegoModule {
  readonly path: string;
  readonly text: string;
}

/** What the annotations say about one rule, nearest scope first (rule, document, package, subpackages). */
export interface RuleMetadata {
  readonly title?: string;
  readonly description?: string;
  readonly severity?: Severity;
  readonly effect?: Effect;
  readonly penalty?: number;
}

const SCOPES: readonly AnnotationScope[] = ["rule", "document", "package", "subpackages"];
const PACKAGE_LINE = /^package\s+([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)/;
const RULE_LINE = /^(?:default\s+)?([A-Za-z_][A-Za-z0-9_]*)/;

/** Every METADATA block of `modules`, in file order; throws "invalid_bundle" naming the file and row of a block OPA would refuse. */
export function parseAnnotations(modules: readonly RegoModule[]): RegoAnnotation[] {
  const annotations: RegoAnnotation[] = [];
  for (const module of [...modules].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const lines = module.text.split(/\r?\n/);
    let pkg = "";
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index]!.trim();
      const declared = PACKAGE_LINE.exec(line);
      if (declared) pkg = declared[1]!;
      if (!/^#\s*METADATA\s*$/.test(line)) continue;
      const start = index + 1;
      const yaml: string[] = [];
      while (index + 1 < lines.length && lines[index + 1]!.trim().startsWith("#")) yaml.push(lines[++index]!.trim().slice(1));
      // The statement it annotates: the next line that is neither blank nor a comment.
      let target = index + 1;
      while (target < lines.length && (lines[target]!.trim() === "" || lines[target]!.trim().startsWith("#"))) target++;
      const where = `${module.path}:${start}`;
      const statement = (lines[target] ?? "").trim();
      const isPackage = PACKAGE_LINE.exec(statement);
      const rule = isPackage ? undefined : RULE_LINE.exec(statement)?.[1];
      if (!isPackage && (rule === undefined || rule === "import")) {
        throw new PolicyKernelError("invalid_bundle", `METADATA at ${where} annotates neither a package nor a rule`, { file: module.path });
      }
      annotations.push(readBlock(yaml.join("\n"), where, {
        file: module.path,
        row: target + 1,
        package: isPackage ? isPackage[1]! : pkg,
        ...(rule === undefined ? {} : { rule }),
      }));
    }
  }
  return annotations;
}

function readBlock(text: string, where: string, target: { file: string; row: number; package: string; rule?: string }): RegoAnnotation {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new PolicyKernelError("invalid_bundle", `METADATA at ${where} is not YAML: ${errorMessage(error).split("\n")[0]}`, { file: target.file });
  }
  const block = parsed === null || parsed === undefined ? {} : parsed;
  if (!isPlainObject(block)) throw new PolicyKernelError("invalid_bundle", `METADATA at ${where}: expected a YAML mapping, got ${shapeOf(block)}`, { file: target.file });
  return readBlockValue(block, where, target);
}

function readBlockValue(block: Record<string, unknown>, where: string, target: { file: string; row: number; package: string; rule?: string }): RegoAnnotation {
  const scope = getOwn(block, "scope") ?? (target.rule === undefined ? "package" : "rule");
  if (!SCOPES.includes(scope as AnnotationScope)) {
    throw new PolicyKernelError("invalid_bundle", `METADATA at ${where}: unknown scope ${JSON.stringify(scope)}`, { file: target.file, field: "scope", expected: SCOPES.join(", ") });
  }
  const onRule = scope === "rule" || scope === "document";
  if (onRule !== (target.rule !== undefined)) {
    throw new PolicyKernelError("invalid_bundle", `METADATA at ${where}: scope ${String(scope)} must come before ${onRule ? "a rule" : "the package"}`, { file: target.file, field: "scope" });
  }
  const custom = getOwn(block, "custom") ?? {};
  if (!isPlainObject(custom)) throw new PolicyKernelError("invalid_bundle", `METADATA at ${where}: custom must be a mapping, got ${shapeOf(custom)}`, { file: target.file, field: "custom" });
  const title = getOwn(block, "title");
  const description = getOwn(block, "description");
  return {
    scope: scope as AnnotationScope,
    ...target,
    ...(typeof title === "string" ? { title } : {}),
    ...(typeof description === "string" ? { description } : {}),
    custom,
  };
}

/**
 * The annotations `opa build -t wasm` moved into the manifest (`wasm[].annotations`) for the
 * entrypoint `entrypoint` (`pkg/rule`): it strips the rules it compiles from the .rego files it
 * ships, with their rule and document METADATA, and keeps it there instead, in file order.
 */
export function manifestAnnotations(
  wasm: readonly { readonly entrypoint: string; readonly annotations?: readonly unknown[] | undefined }[] | undefined,
  entrypoint: string,
  pkg: string,
  rule: string,
): RegoAnnotation[] {
  const entry = (wasm ?? []).find((item) => item.entrypoint === entrypoint);
  return (entry?.annotations ?? []).map((raw, index) => {
    const where = `/.manifest wasm[${entrypoint}].annotations[${index}]`;
    if (!isPlainObject(raw)) throw new PolicyKernelError("invalid_bundle", `${where}: expected an object, got ${shapeOf(raw)}`, { file: "/.manifest" });
    return readBlockValue(raw, where, { file: "/.manifest", row: 0, package: pkg, rule });
  });
}

/**
 * The metadata of rule `rule` of package `pkg`: each field from the nearest annotation that has
 * it, as OPA's `rego.metadata.chain()` orders them (rule, document, package, then subpackages
 * from the package up). Several rule-scope blocks (one per definition): the first in file order.
 * Throws "invalid_bundle" on a severity, effect or penalty it cannot use.
 */
export function metadataFor(annotations: readonly RegoAnnotation[], pkg: string, rule: string): RuleMetadata {
  const chain = [
    ...annotations.filter((a) => a.scope === "rule" && a.package === pkg && a.rule === rule),
    ...annotations.filter((a) => a.scope === "document" && a.package === pkg && a.rule === rule),
    ...annotations.filter((a) => a.scope === "package" && a.package === pkg),
    ...ancestors(pkg).flatMap((name) => annotations.filter((a) => a.scope === "subpackages" && a.package === name)),
  ];
  const first = (read: (a: RegoAnnotation) => unknown): unknown => chain.map(read).find((value) => value !== undefined);
  const result: { -readonly [K in keyof RuleMetadata]: RuleMetadata[K] } = {};
  const title = first((a) => a.title);
  const description = first((a) => a.description);
  if (typeof title === "string") result.title = title;
  if (typeof description === "string") result.description = description;
  const from = (key: string): RegoAnnotation | undefined => chain.find((a) => getOwn(a.custom, key) !== undefined);
  const severityAt = from("severity");
  if (severityAt) {
    const raw = getOwn(severityAt.custom, "severity");
    const severity = typeof raw === "string" ? raw.toLowerCase() : raw;
    if (!isSeverity(severity)) throw customError(severityAt, "severity", raw, "critical, high, medium or low (any case)");
    result.severity = severity;
  }
  const effectAt = from("effect");
  if (effectAt) {
    const raw = getOwn(effectAt.custom, "effect");
    const effect = typeof raw === "string" ? raw.toLowerCase() : raw;
    if (effect !== "block" && effect !== "warn" && effect !== "modify") throw customError(effectAt, "effect", raw, "block, warn or modify");
    result.effect = EffectSchema.parse(effect);
  }
  const penaltyAt = from("penalty");
  if (penaltyAt) {
    const raw = getOwn(penaltyAt.custom, "penalty");
    if (typeof raw !== "number" || !Number.isFinite(raw) || raw < 0) throw customError(penaltyAt, "penalty", raw, "a number >= 0");
    result.penalty = raw;
  }
  return result;
}

/** `a.b.c`, `a.b`, `a`: the package and each package above it. */
function ancestors(pkg: string): string[] {
  const parts = pkg.split(".");
  return parts.map((_, index) => parts.slice(0, parts.length - index).join("."));
}

function customError(at: RegoAnnotation, key: string, found: unknown, expected: string): PolicyKernelError {
  return new PolicyKernelError("invalid_bundle", `METADATA of ${at.rule ?? at.package} (${at.scope} scope, row ${at.row}): custom.${key} is ${JSON.stringify(found) ?? String(found)}`, {
    file: at.file,
    field: `custom.${key}`,
    expected,
  });
}
