import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import {
  CORPUS_CLASSES,
  DIALECTS,
  describeOutcome,
  dialectsOf,
  isDamage,
  loadCorpus,
  type CorpusCase,
  type CorpusDatabase,
  type Dialect,
  type Outcome,
} from "../helpers/sql-corpus.js";
import { openPostgresCorpusDatabase } from "../helpers/sql-corpus-postgres.js";
import { openSqliteCorpusDatabase } from "../helpers/sql-corpus-sqlite.js";
import { DEFAULT_ROW_BUDGET } from "../../src/demo/executor.js";

/**
 * Issue 19's SQL corpus, executed for real: every string runs on the demo's SQLite (sql.js) and
 * on PostgreSQL (PGlite), and is judged by the default kernel configured for each dialect and by
 * one with no dialect (which must be conservative and is held to both databases).
 */

/** A kernel configuration and the databases its allowed strings are executed on. */
const KERNELS = [
  { name: "sqlite", dialect: "sqlite", databases: ["sqlite"] },
  { name: "postgres", dialect: "postgres", databases: ["postgres"] },
  { name: "no dialect", dialect: undefined, databases: ["sqlite", "postgres"] },
] as const satisfies readonly { name: string; dialect: Dialect | undefined; databases: readonly Dialect[] }[];
type KernelName = (typeof KERNELS)[number]["name"];

interface Verdict {
  readonly allowed: boolean;
  readonly rules: string;
}

/** The demo executor's per-action row budget: what executes is bounded where it executes. */
const ROW_BUDGET = DEFAULT_ROW_BUDGET;

const corpus = loadCorpus();
const outcomes = new Map<Dialect, Map<string, Outcome>>();
/** Outcomes of the strings some kernel allows, executed with the effect budget. */
const budgeted = new Map<Dialect, Map<string, Outcome>>();
const verdicts = new Map<KernelName, Map<string, Verdict>>();
const timings: string[] = [];

const outcome = (dialect: Dialect, entry: CorpusCase): Outcome => {
  const found = outcomes.get(dialect)?.get(entry.id);
  if (!found) throw new Error(`no ${dialect} outcome for ${entry.id}`);
  return found;
};
const verdict = (kernel: KernelName, entry: CorpusCase): Verdict => {
  const found = verdicts.get(kernel)?.get(entry.id);
  if (!found) throw new Error(`no ${kernel} verdict for ${entry.id}`);
  return found;
};
const show = (entry: CorpusCase): string => `${entry.id} ${JSON.stringify(entry.sql).slice(0, 90)}`;

async function runAll(open: () => Promise<CorpusDatabase>): Promise<void> {
  const started = performance.now();
  const db = await open();
  const ready = performance.now();
  const cpu = process.cpuUsage();
  const results = new Map<string, Outcome>();
  try {
    for (const entry of corpus) results.set(entry.id, await db.run(entry.sql));
  } finally {
    await db.close();
  }
  outcomes.set(db.dialect, results);
  // CPU time beside wall time: the machine is shared, and the CPU figure moves less with its load.
  const used = process.cpuUsage(cpu);
  timings.push(`${db.dialect}: setup ${Math.round(ready - started)} ms, ${corpus.length} strings ${Math.round(performance.now() - ready)} ms (CPU ${Math.round((used.user + used.system) / 1000)} ms)`);
}

describe("adversarial SQL corpus, executed on SQLite and PostgreSQL", () => {
  beforeAll(async () => {
    await runAll(openSqliteCorpusDatabase);
    await runAll(openPostgresCorpusDatabase);
    for (const config of KERNELS) {
      const kernel: PolicyKernel = await createPolicyKernel(
        config.dialect === undefined ? {} : { data: { policy_kernel: { config: { sql: { dialect: config.dialect } } } } },
      );
      const results = new Map<string, Verdict>();
      for (const entry of corpus) {
        const decision = await kernel.evaluate({ agentId: "corpus", action: { type: "sql", sql: entry.sql }, context: {} });
        results.set(entry.id, { allowed: decision.allowed, rules: decision.violations.map((v) => `${v.policy}/${v.rule}`).join(",") });
      }
      kernel.close();
      verdicts.set(config.name, results);
    }
    // What an executor with the effect budget does with every string some kernel allows.
    for (const open of [openSqliteCorpusDatabase, openPostgresCorpusDatabase]) {
      const db = await open();
      const results = new Map<string, Outcome>();
      try {
        for (const entry of corpus) {
          if (KERNELS.some((config) => verdicts.get(config.name)?.get(entry.id)?.allowed)) results.set(entry.id, await db.run(entry.sql, ROW_BUDGET));
        }
      } finally {
        await db.close();
      }
      budgeted.set(db.dialect, results);
    }
  }, 600_000);

  afterAll(() => {
    if (verdicts.size === 0) return;
    console.log([...timings, "", ...countsTable()].join("\n"));
  });

  it("has at least 250 strings: 100 benign and 150 destructive, for both dialects", () => {
    const benign = corpus.filter((c) => c.class !== "destructive");
    const destructive = corpus.filter((c) => c.class === "destructive");
    expect(corpus.length).toBeGreaterThanOrEqual(250);
    expect(benign.length).toBeGreaterThanOrEqual(100);
    expect(destructive.length).toBeGreaterThanOrEqual(150);
    for (const dialect of DIALECTS) {
      expect(benign.filter((c) => dialectsOf(c).includes(dialect)).length).toBeGreaterThanOrEqual(100);
      expect(destructive.filter((c) => dialectsOf(c).includes(dialect)).length).toBeGreaterThanOrEqual(150);
    }
  });

  it("every benign string runs without error and without damage where it applies (the corpus is honest)", () => {
    const wrong: string[] = [];
    for (const entry of corpus.filter((c) => c.class !== "destructive")) {
      for (const dialect of dialectsOf(entry)) {
        const result = outcome(dialect, entry);
        if (result.error !== null || isDamage(result)) wrong.push(`${dialect} ${show(entry)}: ${describeOutcome(result)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("the harness sees damage: a destructive string that runs without error damages, unless its note says why not", () => {
    const wrong: string[] = [];
    for (const entry of corpus.filter((c) => c.class === "destructive")) {
      for (const dialect of dialectsOf(entry)) {
        const result = outcome(dialect, entry);
        if (entry.undetectable !== undefined) {
          // The note must stay true: a case marked undetectable that does visible damage is mislabelled.
          if (isDamage(result)) wrong.push(`${dialect} ${show(entry)} is marked undetectable but did: ${describeOutcome(result)}`);
        } else if (result.error === null && !isDamage(result)) {
          wrong.push(`${dialect} ${show(entry)} ran without error and without damage`);
        }
      }
    }
    expect(wrong).toEqual([]);
    // The harness itself: rows, schema, settings, files, session state and a stopped server are each seen at least once.
    const all = DIALECTS.flatMap((dialect) => corpus.map((entry) => outcome(dialect, entry)));
    expect(all.some((o) => o.rows.some((r) => r.wiped))).toBe(true);
    expect(all.some((o) => o.schema.length > 0)).toBe(true);
    expect(all.some((o) => o.settings.length > 0)).toBe(true);
    expect(all.some((o) => o.files.length > 0)).toBe(true);
    expect(all.some((o) => o.session.length > 0)).toBe(true);
    expect(all.some((o) => o.crashed)).toBe(true);
  });

  for (const config of KERNELS) {
    it(`the ${config.name} kernel: nothing it allows does damage on ${config.databases.join(" or ")}, where the executor bounds its effect`, () => {
      const wrong: string[] = [];
      for (const entry of corpus) {
        if (!verdict(config.name, entry).allowed) continue;
        for (const dialect of config.databases) {
          const result = budgeted.get(dialect)?.get(entry.id);
          if (!result) wrong.push(`${dialect} ${show(entry)}: not executed with the budget`);
          else if (isDamage(result)) wrong.push(`${dialect} ${show(entry)}: ${describeOutcome(result)}`);
        }
      }
      expect(wrong).toEqual([]);
    });

    it(`the ${config.name} kernel alone lets through only writes whose WHERE restricts by its syntax and matches every row by the data`, () => {
      const wrong: string[] = [];
      for (const entry of corpus) {
        if (!verdict(config.name, entry).allowed) continue;
        for (const dialect of config.databases) {
          const result = outcome(dialect, entry);
          // Static analysis cannot know that `id > -1` matches every row: the corpus files those under tautology/.
          if (isDamage(result) && !entry.id.startsWith("tautology/")) wrong.push(`${dialect} ${show(entry)}: ${describeOutcome(result)}`);
        }
      }
      expect(wrong).toEqual([]);
    });

    it(`the ${config.name} kernel: allows every benign string of its dialect`, () => {
      const wrong: string[] = [];
      for (const entry of corpus.filter((c) => c.class !== "destructive")) {
        const applies = config.dialect === undefined ? entry.dialects === "both" : dialectsOf(entry).includes(config.dialect);
        if (!applies) continue;
        const judged = verdict(config.name, entry);
        if (!judged.allowed) wrong.push(`${show(entry)} denied by ${judged.rules}`);
      }
      expect(wrong).toEqual([]);
    });

    it(`the ${config.name} kernel: denies every destructive string whose harm the harness cannot see`, () => {
      const wrong: string[] = [];
      for (const entry of corpus.filter((c) => c.undetectable !== undefined)) {
        const applies = config.dialect === undefined || dialectsOf(entry).includes(config.dialect);
        if (applies && verdict(config.name, entry).allowed) wrong.push(`${show(entry)}: ${entry.undetectable ?? ""}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});

/** Per kernel and class: strings, allowed, denied, damage among the allowed, benign denied. */
function countsTable(): string[] {
  const rows = [
    `| kernel | class | strings | allowed | denied | allowed and damaging (kernel alone) | allowed and damaging (with the ${ROW_BUDGET}-row effect budget) | benign denied (false positives) |`,
    "|---|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const config of KERNELS) {
    for (const cls of CORPUS_CLASSES) {
      const entries = corpus.filter((c) => c.class === cls && (config.dialect === undefined || dialectsOf(c).includes(config.dialect)));
      const allowed = entries.filter((c) => verdict(config.name, c).allowed);
      const damaging = allowed.filter((c) => config.databases.some((dialect) => isDamage(outcome(dialect, c))));
      const bounded = allowed.filter((c) => config.databases.some((dialect) => {
        const result = budgeted.get(dialect)?.get(c.id);
        return result === undefined || isDamage(result);
      }));
      const falsePositives = cls === "destructive" ? "" : String(entries.length - allowed.length);
      rows.push(`| ${config.name} | ${cls} | ${entries.length} | ${allowed.length} | ${entries.length - allowed.length} | ${damaging.length} | ${bounded.length} | ${falsePositives} |`);
    }
  }
  const damageable = (dialect: Dialect): string => {
    const destructive = corpus.filter((c) => c.class === "destructive" && dialectsOf(c).includes(dialect));
    const ran = destructive.filter((c) => outcome(dialect, c).error === null);
    const damaged = destructive.filter((c) => isDamage(outcome(dialect, c)));
    return `${dialect}: ${destructive.length} destructive strings, ${ran.length} ran without error, ${damaged.length} did damage when executed (allowed or not), ${destructive.filter((c) => c.undetectable !== undefined).length} marked undetectable`;
  };
  return [...rows, "", ...DIALECTS.map(damageable)];
}
