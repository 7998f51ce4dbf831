import { isPlainObject } from "../../values.js";
import { kernelSection, type PolicyBundle } from "./bundle.js";
import type { InputPaths } from "./projection-tree.js";

/**
 * What `scripts/build-bundle.sh` proves with `opa deps` and records at
 * `data.policy_kernel.build` (scripts/build-record.mjs), with the SHA-256 of the Rego modules
 * it was computed from. Each part lets the engine skip or send less, independently of the others.
 */
export interface BuildRecord {
  readonly modulesSha256: string;
  /** For each built entrypoint that does not read the whole input, the input paths it can read. */
  readonly inputPaths: Readonly<Record<string, InputPaths>>;
  /** The built entrypoints that read the whole input (none in inputPaths). */
  readonly wholeInput: readonly string[];
  /** Each policy's own paths (the generated aggregate only); together they cover the aggregate's. */
  readonly policyPaths: Readonly<Record<string, InputPaths>> | undefined;
  /** The generated aggregate's halves, when its config half reads no input. */
  readonly split: AggregateSplit | undefined;
  /** The policies' `prepare` entrypoints that read no input (docs/rego-internals.md: "Prepared values"). */
  readonly prepare: readonly string[];
}

/**
 * The generated aggregate is the union of two entrypoints, and `config` depends on data alone:
 * the engine evaluates it once, when it loads the data, and `policies` per decision.
 */
export interface AggregateSplit {
  readonly aggregate: string;
  readonly policies: string;
  readonly config: string;
}

export type BuildRecordResult = { readonly record: BuildRecord; readonly note?: undefined } | { readonly record: null; readonly note?: string };

/**
 * The bundle's build record, trusted only when it was computed from exactly the Rego modules the
 * bundle holds. A bundle rebuilt around a copied data.json, with a policy added, fails that check
 * and gets none of it: a stale list of paths would hide input from the new policy and let
 * actions through, a stale split or prepare list could bake an input-dependent value into every
 * decision. Bundles without the record (any `opa build` of your own) get none of it either.
 */
export function readBuildRecord(bundle: PolicyBundle): BuildRecordResult {
  const section = kernelSection(bundle.data);
  const raw = section["build"];
  if (raw === undefined) {
    return Object.hasOwn(section, "input_projection")
      ? { record: null, note: "data.policy_kernel.input_projection is the record of an older scripts/build-bundle.sh; rebuild the bundle to get its input projection, split and prepared values" }
      : { record: null };
  }
  const record = readRecord(raw);
  if (!record) {
    return { record: null, note: `data.policy_kernel.build is malformed (expected ${RECORD_SHAPE}); the whole input is sent and nothing is prepared` };
  }
  if (record.modulesSha256 !== bundle.modulesSha256) {
    return { record: null, note: "the build record was computed from other Rego modules than the bundle holds; the whole input is sent and nothing is prepared" };
  }
  return { record };
}

const RECORD_SHAPE = "{modules_sha256, input_paths, whole_input?, policy_paths?, split?, prepare?}";

/** The record's shape and nothing else, or undefined. (By hand: zod's first parse costs a cold start about 1 ms.) */
function readRecord(raw: unknown): BuildRecord | undefined {
  if (!isPlainObject(raw)) return undefined;
  const { modules_sha256: modulesSha256, input_paths: inputPaths, whole_input: wholeInput, policy_paths: policyPaths, split, prepare, ...rest } = raw;
  if (Object.keys(rest).length > 0) return undefined;
  if (typeof modulesSha256 !== "string" || !/^[0-9a-f]{64}$/.test(modulesSha256)) return undefined;
  if (!isPathsByName(inputPaths)) return undefined;
  if (policyPaths !== undefined && !isPathsByName(policyPaths)) return undefined;
  if (split !== undefined && !isSplit(split)) return undefined;
  if (prepare !== undefined && !(Array.isArray(prepare) && prepare.every(isName))) return undefined;
  // An entrypoint is either whole-input or listed with its paths, never both.
  if (wholeInput !== undefined && !(Array.isArray(wholeInput) && wholeInput.every((name) => isName(name) && !Object.hasOwn(inputPaths, name)))) return undefined;
  return { modulesSha256, inputPaths, wholeInput: (wholeInput as string[] | undefined) ?? [], policyPaths, split, prepare: prepare ?? [] };
}

function isSplit(value: unknown): value is AggregateSplit {
  if (!isPlainObject(value)) return false;
  const { aggregate, policies, config, ...rest } = value;
  return Object.keys(rest).length === 0 && isName(aggregate) && isName(policies) && isName(config);
}

function isName(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isPathsByName(value: unknown): value is Record<string, InputPaths> {
  return isPlainObject(value) && Object.values(value).every(isPathList);
}

function isPathList(value: unknown): value is InputPaths {
  return Array.isArray(value) && value.every((path) => Array.isArray(path) && path.length > 0 && path.every((part) => typeof part === "string"));
}
