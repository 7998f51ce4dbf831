import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { HOST_BUILTIN_NAMES, hostBuiltins } from "../../../../src/engines/rego/builtins/registry.js";
import { EvaluationClock, importedBuiltins } from "../../../../src/engines/rego/builtins/check.js";
import { readBundle } from "../../../../src/engines/rego/bundle.js";
import { instantiatePolicy } from "../../../../src/engines/rego/wasm-instance.js";
import { canonicalJson } from "../../../../src/canonical-json.js";
import { opaPath } from "../../../helpers/opa.js";
import { FAMILIES, rawJson, sampleCases } from "./cases.js";

/**
 * Every host builtin against OPA's Go evaluator (the pinned `opa eval`): one Rego module has a
 * rule per family, `out_<family>[i] := <builtin>(c) if some i, c in input.<family>`, built once into Wasm
 * with the pinned OPA and evaluated by this host (wasm-instance.ts) with its registry, and evaluated
 * once by `opa eval` on the same input. A case undefined in one must be undefined in the other.
 */
const work = mkdtempSync(join(tmpdir(), "pk-builtins-"));
const rego = [
  "package diff",
  "",
  // Alterations of a formatted time for the parse_ns family (every branch a pure Rego function).
  'mutate(s, "") := s',
  'mutate(s, " ") := concat("", [s, " "])',
  'mutate(s, "x") := concat("", ["x", s])',
  'mutate(s, "1") := concat("", [s, "1"])',
  'mutate(s, "drop") := substring(s, 0, count(s) - 1) if count(s) > 0',
  'mutate(s, "upper") := upper(s)',
  'mutate(s, "lower") := lower(s)',
  'mutate(s, "double-space") := replace(s, " ", "  ")',
  "",
  ...FAMILIES.map((family) => `out_${family.name}[i] := ${family.expression} if some i, c in input.${family.name}`),
  "",
  `all := {${FAMILIES.map((family) => `"${family.name}": out_${family.name}`).join(", ")}}`,
  "",
].join("\n");
const input = Object.fromEntries(FAMILIES.map((family) => [family.name, sampleCases(family)]));

let expected: Record<string, Record<string, unknown>>;
let actual: Record<string, Record<string, unknown>>;
let imported: string[];

beforeAll(async () => {
  writeFileSync(join(work, "diff.rego"), rego);
  writeFileSync(join(work, "input.json"), rawJson(input));
  const opa = opaPath();
  execFileSync(opa, ["build", "-t", "wasm", "-e", "diff/all", "-o", join(work, "bundle.tar.gz"), join(work, "diff.rego")], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
  const evaluated = JSON.parse(
    execFileSync(opa, ["eval", "-f", "json", "-d", join(work, "diff.rego"), "-i", join(work, "input.json"), "data.diff.all"], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] }),
  ) as { result: Array<{ expressions: Array<{ value: Record<string, Record<string, unknown>> }> }> };
  expected = evaluated.result[0]?.expressions[0]?.value ?? {};
  const bundle = await readBundle(join(work, "bundle.tar.gz"));
  const policy = instantiatePolicy(bundle.module as WebAssembly.Module, hostBuiltins(new EvaluationClock()));
  imported = importedBuiltins(policy);
  const text = Buffer.from(rawJson(input), "utf8");
  const result = policy.evaluate(text.buffer.slice(text.byteOffset, text.byteOffset + text.byteLength)) as Array<{ result: Record<string, Record<string, unknown>> }>;
  actual = result[0]?.result ?? {};
}, 60_000);

const canonical = (value: unknown): string => (value === undefined ? "undefined" : canonicalJson(value));

describe("host builtins agree with opa eval of the pinned OPA", () => {
  it("every builtin this host ships is in a family (time.now_ns: host-builtins.test.ts; yaml.*: the SDK's)", () => {
    const tested = new Set(FAMILIES.flatMap((family) => family.builtins));
    const untested = HOST_BUILTIN_NAMES.filter((name) => !tested.has(name));
    expect(untested).toEqual(["time.now_ns", "yaml.is_valid", "yaml.marshal", "yaml.unmarshal"]);
  });

  it("the Wasm imports exactly the builtins each family tests", () => {
    expect(imported).toEqual([...new Set(FAMILIES.flatMap((family) => family.builtins))].sort());
    expect(readFileSync(join(work, "diff.rego"), "utf8")).toContain("package diff");
  });

  for (const family of FAMILIES) {
    it(`${family.name}: ${family.count} generated cases`, () => {
      const cases = input[family.name] as unknown[];
      const want = expected[family.name] ?? {};
      const got = actual[family.name] ?? {};
      const mismatches = cases
        .map((value, index) => ({ index, value, want: want[String(index)], got: got[String(index)] }))
        .filter((entry) => canonical(entry.want) !== canonical(entry.got));
      expect(mismatches.slice(0, 5)).toEqual([]);
      // Each family must exercise defined results, not only undefined ones.
      expect(Object.keys(want).length).toBeGreaterThan(cases.length / 10);
    });
  }
});
