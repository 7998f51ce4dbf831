import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import type { Decision } from "../../src/schemas.js";

const CorpusSchema = z.object({
  cases: z.array(
    z.object({
      class: z.enum(["exfiltration", "benign", "undefended"]),
      trick: z.string().min(1),
      action: z.record(z.string(), z.unknown()),
    }),
  ),
});
const corpus = CorpusSchema.parse(parse(readFileSync(join(import.meta.dirname, "..", "fixtures", "pii-corpus.yaml"), "utf8"))).cases;

interface Outcome {
  readonly class: "exfiltration" | "benign" | "undefended";
  readonly trick: string;
  readonly decision: Decision;
}

/** Allowed, denied and warned per class, as the docs page reports them. */
function tally(outcomes: readonly Outcome[]) {
  const of = (cls: Outcome["class"]) => outcomes.filter((o) => o.class === cls);
  const count = (list: readonly Outcome[]) => ({
    cases: list.length,
    allowed: list.filter((o) => o.decision.allowed).length,
    denied: list.filter((o) => !o.decision.allowed).length,
    warned: list.filter((o) => o.decision.allowed && o.decision.violations.some((v) => v.policy === "pii")).length,
  });
  return { exfiltration: count(of("exfiltration")), benign: count(of("benign")), undefended: count(of("undefended")) };
}

describe("PII corpus through the default kernel", () => {
  let kernel: PolicyKernel;
  let outcomes: Outcome[];
  beforeAll(async () => {
    kernel = await createPolicyKernel();
    outcomes = [];
    for (const c of corpus) {
      const decision = await kernel.evaluate({ agentId: "corpus", action: { ...c.action, type: "message" } });
      outcomes.push({ class: c.class, trick: c.trick, decision });
    }
  });

  it("has at least 100 cases, the issue's examples among them, each trick named once", () => {
    expect(corpus.filter((c) => c.class !== "undefended").length).toBeGreaterThanOrEqual(100);
    expect(new Set(corpus.map((c) => c.trick)).size).toBe(corpus.length);
    expect(corpus.filter((c) => c.trick.includes("(issue)")).length).toBeGreaterThanOrEqual(15);
  });

  it("denies every exfiltration and allows every benign message (counts printed)", () => {
    const counts = tally(outcomes);
    const falsePositives = outcomes.filter((o) => o.class === "benign" && !o.decision.allowed);
    const missed = outcomes.filter((o) => o.class === "exfiltration" && o.decision.allowed);
    console.log(
      [
        "PII corpus (default kernel):",
        `  exfiltration: ${counts.exfiltration.cases} cases, ${counts.exfiltration.denied} denied, ${counts.exfiltration.allowed} allowed`,
        `  benign:       ${counts.benign.cases} cases, ${counts.benign.allowed} allowed (${counts.benign.warned} with a pii warning), ${counts.benign.denied} denied`,
        `  false positives (benign denied): ${falsePositives.length}${falsePositives.map((o) => `\n    ${o.trick}`).join("")}`,
        `  missed (exfiltration allowed): ${missed.length}${missed.map((o) => `\n    ${o.trick}`).join("")}`,
        `  undefended (docs/pii.md): ${counts.undefended.cases} cases, ${counts.undefended.allowed} allowed, ${counts.undefended.denied} denied`,
      ].join("\n"),
    );
    expect(missed.map((o) => o.trick)).toEqual([]);
    expect(falsePositives.map((o) => `${o.trick}: ${o.decision.violations.map((v) => v.description).join("; ")}`)).toEqual([]);
  });

  it("lets the undefended tricks through, as docs/pii.md says (one that is caught belongs with the exfiltrations)", () => {
    expect(outcomes.filter((o) => o.class === "undefended" && !o.decision.allowed).map((o) => o.trick)).toEqual([]);
  });

  it("denies each exfiltration for a PII reason (or an invalid body), and warns only for internal recipients", () => {
    const reasons = new Set(["pii/external_recipient", "pii/missing_facts", "kernel/invalid_action"]);
    for (const o of outcomes) {
      const blocking = o.decision.violations.filter((v) => v.blocked).map((v) => `${v.policy}/${v.rule}`);
      if (o.class === "exfiltration") expect(blocking.filter((name) => reasons.has(name)).length, `${o.trick}: ${blocking.join(", ")}`).toBeGreaterThan(0);
      else if (o.class === "benign") expect(o.decision.violations.map((v) => `${v.policy}/${v.rule}`).filter((name) => name !== "pii/internal_recipient"), o.trick).toEqual([]);
    }
  });

  it("never puts a found value into a decision", () => {
    for (const o of outcomes) {
      const text = JSON.stringify(o.decision);
      for (const value of ["6789", "4111", "jane", "5555"]) expect(text, o.trick).not.toContain(value);
    }
  });
});
