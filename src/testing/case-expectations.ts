import { z } from "zod";
import { SeveritySchema, type Decision, type Violation } from "../schemas.js";

// A pattern is checked when the file loads, so a typo in a regex is a load error naming the case
// rather than a case that fails (or passes) for the wrong reason at run time.
const PatternSchema = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `does not compile as a regular expression (${(error as Error).message})` });
  }
});

const DESCRIPTION_FIELDS = {
  /** The violation's description, exactly. */
  description: z.string().optional(),
  /** A JavaScript regular expression searched in the description (unanchored: use ^…$ to anchor). */
  descriptionMatches: PatternSchema.optional(),
};

function oneDescription(value: { description?: string | undefined; descriptionMatches?: string | undefined }, ctx: z.RefinementCtx): void {
  if (value.description !== undefined && value.descriptionMatches !== undefined) {
    ctx.addIssue({ code: "custom", message: "give description (exact) or descriptionMatches (a pattern), not both" });
  }
}

/** A violation in `expect.violations` (the exact set): policy, rule and severity, optionally its description. */
export const ExpectedViolationSchema = z
  .strictObject({ policy: z.string(), rule: z.string(), severity: SeveritySchema, ...DESCRIPTION_FIELDS })
  .superRefine(oneDescription);
/** A violation in `expect.violations`. */
export type ExpectedViolation = z.infer<typeof ExpectedViolationSchema>;

/** A violation in `expect.includes` (must be present, others allowed): any of its fields, matched on those given. */
export const IncludedViolationSchema = z
  .strictObject({ policy: z.string().optional(), rule: z.string().optional(), severity: SeveritySchema.optional(), ...DESCRIPTION_FIELDS })
  .superRefine((value, ctx) => {
    oneDescription(value, ctx);
    if (Object.values(value).every((field) => field === undefined)) {
      ctx.addIssue({ code: "custom", message: "an included violation needs at least one of policy, rule, severity, description, descriptionMatches" });
    }
  });
/** A violation in `expect.includes`. */
export type IncludedViolation = z.infer<typeof IncludedViolationSchema>;

/**
 * What a case expects of a Decision. `violations` is the exact multiset (an unexpected violation fails);
 * `includes` lists violations that must be present among others; with neither, only `allowed` (and
 * `signals` when given) is compared.
 */
export const ExpectationSchema = z
  .strictObject({
    allowed: z.boolean(),
    violations: z.array(ExpectedViolationSchema).optional(),
    includes: z.array(IncludedViolationSchema).optional(),
    signals: z.array(z.string()).optional(),
  })
  .superRefine((value, ctx) => {
    if (value.violations !== undefined && value.includes !== undefined) {
      ctx.addIssue({ code: "custom", path: ["includes"], message: "give violations (the exact set) or includes (a subset), not both" });
    }
  });
/** What a case expects of a Decision. */
export type Expectation = z.infer<typeof ExpectationSchema>;

type Wanted = IncludedViolation;

function matches(want: Wanted, got: Violation): boolean {
  if (want.policy !== undefined && want.policy !== got.policy) return false;
  if (want.rule !== undefined && want.rule !== got.rule) return false;
  if (want.severity !== undefined && want.severity !== got.severity) return false;
  if (want.description !== undefined && want.description !== got.description) return false;
  if (want.descriptionMatches !== undefined && !new RegExp(want.descriptionMatches).test(got.description)) return false;
  return true;
}

/**
 * Pairs each wanted violation with a distinct actual one (Kuhn's augmenting paths): a greedy pass
 * could give a broad pattern the one violation a narrower entry needed. Returns, per wanted entry,
 * the index of its actual violation or -1.
 */
function pair(wanted: readonly Wanted[], actual: readonly Violation[]): number[] {
  const ownerOf = new Array<number>(actual.length).fill(-1);
  const fits = wanted.map((want) => actual.map((got) => matches(want, got)));
  const augment = (w: number, seen: boolean[]): boolean => {
    for (let a = 0; a < actual.length; a++) {
      if (!fits[w]![a] || seen[a]) continue;
      seen[a] = true;
      if (ownerOf[a] === -1 || augment(ownerOf[a]!, seen)) {
        ownerOf[a] = w;
        return true;
      }
    }
    return false;
  };
  for (let w = 0; w < wanted.length; w++) augment(w, new Array<boolean>(actual.length).fill(false));
  const partner = new Array<number>(wanted.length).fill(-1);
  ownerOf.forEach((w, a) => {
    if (w !== -1) partner[w] = a;
  });
  return partner;
}

function wantedKey(want: Wanted): string {
  const severity = want.severity ?? "any severity";
  const text = want.description !== undefined ? ` — ${JSON.stringify(want.description)}` : want.descriptionMatches !== undefined ? ` — /${want.descriptionMatches}/` : "";
  return `${want.policy ?? "*"}/${want.rule ?? "*"} (${severity})${text}`;
}

function actualKey(got: Violation): string {
  return `${got.policy}/${got.rule} (${got.severity}) — ${got.description}`;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The diff lines between what a case expects and a Decision: `-` expected, `+` actual; empty when it holds. */
export function diffDecision(expect: Expectation, decision: Decision): string[] {
  const lines: string[] = [];
  if (expect.allowed !== decision.allowed) lines.push(`- allowed: ${expect.allowed}`, `+ allowed: ${decision.allowed}`);
  const wanted = expect.violations ?? expect.includes;
  if (wanted !== undefined) {
    const partner = pair(wanted, decision.violations);
    const missing = wanted.filter((_, w) => partner[w] === -1);
    const used = new Set(partner);
    const extra = decision.violations.filter((_, a) => !used.has(a));
    // With includes, other violations are allowed: they are shown only as what was there instead.
    const showExtra = expect.violations !== undefined ? extra.length > 0 : missing.length > 0;
    lines.push(...missing.map((want) => `- violation ${wantedKey(want)}`).sort(byCodeUnits));
    if (showExtra) lines.push(...extra.map((got) => `+ violation ${actualKey(got)}`).sort(byCodeUnits));
  }
  if (expect.signals) {
    const want = [...expect.signals].sort().join(",");
    const got = decision.signals.join(",");
    if (want !== got) lines.push(`- signals: [${want}]`, `+ signals: [${got}]`);
  }
  return lines;
}
