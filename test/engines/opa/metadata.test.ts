import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { metadataFor, parseAnnotations, type RegoModule } from "../../../src/engines/opa/metadata.js";
import { readBundle } from "../../../src/engines/rego/bundle.js";
import { createOpaEngine } from "../../../src/engines/opa/opa-engine.js";
import { isPolicyKernelError } from "../../../src/errors.js";
import { canonicalJson } from "../../../src/canonical-json.js";
import { buildOwnBundle, opaInspectAnnotations, type OwnOpaBundle } from "../../helpers/own-opa.js";

// Every scope OPA knows, in two files of two packages; `opa inspect -a` of the pinned OPA is the
// oracle for where each block attaches and what it says.
const FILES = {
  "corp.rego": `# METADATA
# scope: subpackages
# title: Corp
# custom:
#   severity: low
#   penalty: 2
package corp

x := 1
`,
  "corp/main.rego": `# METADATA
# title: main
# description: the package's own
# custom:
#   effect: warn
package corp.main

import rego.v1

# METADATA
# scope: document
# title: every deny
# custom:
#   severity: CRITICAL
#   penalty: 80

# METADATA
# title: first definition
deny contains "a" if input.a

# METADATA
# custom:
#   severity: Medium
deny contains "b" if input.b

warn contains "w" if input.w

# METADATA
# custom:
#   severity: High
#   effect: block
default allow := false
`,
};

function modulesOf(dir: string): RegoModule[] {
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(folder, entry.name)) : entry.name.endsWith(".rego") ? [join(folder, entry.name)] : []));
  return walk(dir).map((path) => ({ path: relative(dir, path), text: readFileSync(path, "utf8") }));
}

describe("METADATA annotations", () => {
  let built: OwnOpaBundle;
  beforeAll(() => {
    built = buildOwnBundle(FILES, ["corp/main/deny", "corp/main/warn", "corp/main/allow"]);
  });

  it("attaches each block where opa inspect -a does, with the same scope, title, description and custom", () => {
    const ours = parseAnnotations(modulesOf(built.dir)).map((a) => ({
      file: a.file,
      row: a.row,
      annotations: { scope: a.scope, ...(a.title ? { title: a.title } : {}), ...(a.description ? { description: a.description } : {}), ...(Object.keys(a.custom).length ? { custom: a.custom } : {}) },
    }));
    const opa = opaInspectAnnotations(built.dir).map((entry) => ({
      file: relative(built.dir, entry.location.file),
      row: entry.location.row,
      annotations: entry.annotations,
    }));
    const key = (a: { file: string; row: number; annotations: object }) => `${a.file}:${a.row}:${canonicalJson(a.annotations)}`;
    expect(opa.length).toBeGreaterThanOrEqual(5);
    expect(ours.map(key).sort()).toEqual(opa.map(key).sort());
  });

  it("takes each field from the nearest scope: rule, document, package, subpackages", () => {
    const annotations = parseAnnotations(modulesOf(built.dir));
    // deny: a rule block without severity, the second with Medium (rule before document), the document's penalty, the package's effect.
    expect(metadataFor(annotations, "corp.main", "deny")).toEqual({ title: "first definition", description: "the package's own", severity: "medium", effect: "warn", penalty: 80 });
    expect(metadataFor(annotations, "corp.main", "warn")).toEqual({ title: "main", description: "the package's own", severity: "low", effect: "warn", penalty: 2 });
    expect(metadataFor(annotations, "corp.main", "allow")).toEqual({ title: "main", description: "the package's own", severity: "high", effect: "block", penalty: 2 });
    expect(metadataFor(annotations, "other", "allow")).toEqual({});
  });

  it("reads the same from the built bundle, where opa build moved rule METADATA into the manifest", async () => {
    const bundle = readBundle(built.bundle);
    // The compiled rules, and their METADATA, are gone from the shipped .rego: only the manifest has them.
    expect(bundle.regoModules?.map((m) => m.text).join("\n")).not.toContain("first definition");
    const engine = await createOpaEngine({ bundle, entrypoints: ["corp/main/deny", "corp/main/warn", "corp/main/allow"] });
    const fromSource = parseAnnotations(modulesOf(built.dir));
    for (const plan of engine.plans) {
      const meta = metadataFor(fromSource, "corp.main", plan.stamp.rule);
      expect({ severity: plan.stamp.severity, effect: plan.stamp.effect, penalty: plan.stamp.penalty }).toEqual({ severity: meta.severity, effect: meta.effect, penalty: meta.penalty });
    }
    engine.close();
  });

  it("refuses a severity, effect or penalty it cannot use, naming the file and field", () => {
    const bad = (custom: string) => [{ path: "/p.rego", text: `package p\n\n# METADATA\n# custom:\n#   ${custom}\ndeny contains "x" if true\n` }];
    for (const [custom, field] of [["severity: urgent", "custom.severity"], ["effect: explode", "custom.effect"], ["penalty: -1", "custom.penalty"]] as const) {
      let error: unknown;
      try {
        metadataFor(parseAnnotations(bad(custom)), "p", "deny");
      } catch (caught) {
        error = caught;
      }
      expect(isPolicyKernelError(error, "invalid_bundle")).toBe(true);
      expect(String(error)).toContain("/p.rego");
      expect(String(error)).toContain(field);
    }
    expect(() => parseAnnotations([{ path: "/q.rego", text: "# METADATA\n# scope: rule\npackage q\n" }])).toThrow(/scope rule must come before a rule/);
    expect(() => parseAnnotations([{ path: "/q.rego", text: "package q\n# METADATA\n# title: [unclosed\nallow := true\n" }])).toThrow(/METADATA at \/q\.rego:2 is not YAML/);
  });
});
