import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { FlightRecorder, readJsonl, verifyEntries, type FlightRecorderEntry } from "../../src/audit/flight-recorder.js";
import { readTrail, verifyJsonl } from "../../src/audit/jsonl.js";
import { generateTrailKeyPair } from "../../src/audit/checkpoint.js";
import { AUDIT_CHECKPOINT_EVERY } from "../../src/demo/arm.js";
import { runDemo, type DemoRun } from "../../src/demo/run-demo.js";
import { renderTable } from "../../src/demo/table.js";
import { trainCommand } from "../../src/cli/train-command.js";
import { PolicyKernelError, isPolicyKernelError } from "../../src/errors.js";
import { readBundle } from "../../src/engines/rego/bundle.js";
import { defaultBundlePath } from "../../src/kernel/defaults.js";

const SHORT = { episodes: 60, seed: 7, arms: ["ungoverned", "governed"] as const, evalWindow: 20, evalRepeats: 2 };

describe("train: a short run end to end", () => {
  let dirA: string;
  let dirB: string;
  let run: DemoRun;
  beforeAll(async () => {
    dirA = mkdtempSync(join(tmpdir(), "pk-demo-a-"));
    dirB = mkdtempSync(join(tmpdir(), "pk-demo-b-"));
    run = await runDemo({ ...SHORT, outDir: dirA });
    await runDemo({ ...SHORT, outDir: dirB });
  });

  it("writes the run folder and a table naming both arms", () => {
    for (const file of ["summary.json", "timing.json", "report.html", "audit-governed.jsonl", "audit-ungoverned.jsonl", "spans-governed.json", "spans-ungoverned.json"]) {
      expect(readFileSync(join(dirA, file)).length).toBeGreaterThan(0);
    }
    const table = renderTable(run.summary);
    expect(table).toMatch(/attempted-violation rate, last 20 episodes/);
    expect(table).toMatch(/ungoverned\s+governed/);
    expect(run.summary.arms.governed?.training.episodes).toBe(60);
  });

  it("same seed => byte-identical summary.json, spans and report, the same audit entries; durations only in timing.json", async () => {
    for (const file of ["summary.json", "spans-governed.json", "spans-ungoverned.json", "report.html"]) {
      expect(readFileSync(join(dirB, file)).equals(readFileSync(join(dirA, file))), file).toBe(true);
    }
    // Each run signs with a key of its own: the entries are the same, the checkpoints in the same places, their signatures differ.
    for (const file of ["audit-governed.jsonl", "audit-ungoverned.jsonl"]) {
      const unsigned = async (dir: string) => (await readTrail(join(dir, file))).map((line) => (line.type === "checkpoint" ? { ...line, signature: "", keyId: "" } : line));
      expect(await unsigned(dirB)).toEqual(await unsigned(dirA));
      expect(readFileSync(join(dirB, `${file}.pub`)).equals(readFileSync(join(dirA, `${file}.pub`)))).toBe(false);
    }
    expect(readFileSync(join(dirA, "summary.json"), "utf8")).not.toMatch(/"[A-Za-z]*(Ms|Seconds|Duration|Elapsed)":|"(duration|elapsed|wallClock)"/);
    expect(JSON.parse(readFileSync(join(dirA, "timing.json"), "utf8")).totalMs).toBeGreaterThan(0);
  });

  it("names the bundle revision in summary.json, every trail entry, the table and the report header", async () => {
    const revision = readBundle(defaultBundlePath()).manifest.revision;
    expect(revision).toMatch(/^rego-[0-9a-f]{16}$/);
    const summary = JSON.parse(readFileSync(join(dirA, "summary.json"), "utf8")) as DemoRun["summary"];
    expect(summary.kernel.provenance.bundleRevision).toBe(revision);
    for (const arm of ["governed", "ungoverned"] as const) {
      const checks = (await readJsonl(join(dirA, `audit-${arm}.jsonl`))).filter((entry) => entry.type === "policy_check");
      expect(checks.length).toBeGreaterThan(0);
      for (const entry of checks) expect(entry).toMatchObject({ bundleRevision: revision, decision: { provenance: { bundleRevision: revision } } });
    }
    expect(renderTable(run.summary).split("\n")[1]).toBe(`policies: bundle revision ${revision} (sha256 ${summary.kernel.provenance.bundleSha256!.slice(0, 12)}), rules sha256 ${summary.kernel.provenance.rulesSha256!.slice(0, 12)}`);
    const header = readFileSync(join(dirA, "report.html"), "utf8").match(/<p class="meta">[^]*?<\/p>/)?.[0] ?? "";
    expect(header).toContain(`bundle revision ${revision} · bundle sha256 ${summary.kernel.provenance.bundleSha256}`);
  });

  it("a different seed gives a different run", async () => {
    const other = await runDemo({ ...SHORT, seed: 8, arms: ["governed"] });
    expect(other.summary.arms.governed?.curve).not.toEqual(run.summary.arms.governed?.curve);
  });

  it("each arm's audit trail verifies from disk, anchored to the head in summary.json", async () => {
    for (const arm of ["governed", "ungoverned"] as const) {
      const entries = await readJsonl(join(dirA, `audit-${arm}.jsonl`));
      const audit = run.summary.arms[arm]!.audit;
      expect(verifyEntries(entries, { expectedHead: audit.head, expectedCount: audit.entries })).toMatchObject({ valid: true });
      // The checkpoints too, with the public key written beside the trail: sealed by the final one.
      const publicKey = join(dirA, run.summary.files[`key-${arm}`]!);
      expect(await verifyJsonl(join(dirA, `audit-${arm}.jsonl`), { publicKey, expectedHead: audit.head, expectedCount: audit.entries })).toMatchObject({
        valid: true,
        sealed: true,
        checkpoints: audit.checkpoints,
        signaturesChecked: true,
      });
      expect(audit.checkpoints).toBe(Math.floor(audit.entries / AUDIT_CHECKPOINT_EVERY) + 1);
      const spans = JSON.parse(readFileSync(join(dirA, `spans-${arm}.json`), "utf8")) as unknown[];
      expect(spans).toHaveLength(run.summary.arms[arm]!.spans);
      // Editing one entry breaks the chain.
      const edited = entries.map((e, i) => (i === 3 ? { ...e, agentId: "someone-else" } : e));
      expect(verifyEntries(edited)).toMatchObject({ valid: false, index: 3 });
    }
  });

  it("the governed arm executes zero actions the kernel denied; the audit trail shows it", async () => {
    const governed = run.summary.arms.governed!;
    expect(governed.training.deniedProposals).toBeGreaterThan(0);
    expect(governed.training.executedDenied).toBe(0);
    expect(governed.greedyAfter.executedDenied).toBe(0);
    const entries = await readJsonl(join(dirA, "audit-governed.jsonl"));
    let previous: FlightRecorderEntry | undefined;
    let executed = 0;
    for (const entry of entries) {
      if (entry.type === "tool_call") {
        // Every executed action directly follows the decision that allowed it.
        expect(previous?.type).toBe("policy_check");
        if (previous?.type === "policy_check") expect(previous.decision.allowed).toBe(true);
        executed += 1;
      }
      previous = entry;
    }
    expect(executed).toBe(governed.training.executedActions);
    // The ungoverned arm's trail records the same kind of denials, and their execution.
    expect(run.summary.arms.ungoverned!.training.executedDenied).toBeGreaterThan(0);
  });
});

describe("train: the audit trail is streamed to the run folder as the arms run", () => {
  it("leaves exactly the files summary.json names, and no partial trail", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-demo-files-"));
    const { summary } = await runDemo({ ...SHORT, episodes: 20, outDir: dir });
    expect(readdirSync(dir).sort()).toEqual(Object.values(summary.files).sort());
  });

  it("a run stopped early keeps every entry recorded so far, verifiable; the next run keeps it aside", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-demo-stopped-"));
    const stop = new Error("stopped at episode 12");
    const onEpisode = (_arm: string, done: number): void => {
      if (done === 12) throw stop;
    };
    await expect(runDemo({ ...SHORT, arms: ["governed"], outDir: dir, onEpisode })).rejects.toBe(stop);
    const partial = join(dir, "audit-governed.jsonl.partial");
    const entries = await readJsonl(partial);
    // 12 training episodes (each a decision and, when allowed, its execution) plus the greedy evaluation before them.
    expect(entries.filter((e) => e.type === "policy_check").length).toBeGreaterThanOrEqual(12);
    expect(verifyEntries(entries)).toMatchObject({ valid: true, count: entries.length });
    const stopped = readFileSync(partial);

    const stoppedKey = readFileSync(`${partial}.pub`);
    const { summary } = await runDemo({ ...SHORT, arms: ["governed"], outDir: dir });
    const kept = readdirSync(dir).filter((name) => /^audit-governed\.interrupted-.+\.jsonl$/.test(name));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(dir, kept[0]!)).equals(stopped)).toBe(true);
    expect(readFileSync(join(dir, `${kept[0]!}.pub`)).equals(stoppedKey)).toBe(true);
    expect(await verifyJsonl(join(dir, kept[0]!), { publicKey: join(dir, `${kept[0]!}.pub`) })).toMatchObject({ valid: true, sealed: true });
    expect(readdirSync(dir)).not.toContain("audit-governed.jsonl.partial");
    expect(summary.arms.governed?.audit.verified).toBe(true);
  });
});

describe("train: a finished trail is never overwritten", () => {
  it("a second run into a folder holding a finished run is refused, and every file stays as it was", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-demo-again-"));
    await runDemo({ ...SHORT, episodes: 5, arms: ["governed"], outDir: dir });
    const before = new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))]));
    await expect(runDemo({ ...SHORT, episodes: 5, arms: ["governed"], outDir: dir })).rejects.toThrow(/already holds a finished run \(summary\.json\); a trail is never overwritten/);
    // Another arm into it too: the folder is one run's.
    await expect(runDemo({ ...SHORT, episodes: 5, arms: ["ungoverned"], outDir: dir })).rejects.toMatchObject({ code: "io_error" });
    expect(readdirSync(dir).sort()).toEqual([...before.keys()].sort());
    for (const [name, bytes] of before) expect(readFileSync(join(dir, name)).equals(bytes), name).toBe(true);
  });

  it("with the trainer's signing key, two runs of a seed give byte-identical trails (Ed25519 is deterministic)", async () => {
    const { privateKey } = generateTrailKeyPair();
    const dirs = [mkdtempSync(join(tmpdir(), "pk-demo-key-a-")), mkdtempSync(join(tmpdir(), "pk-demo-key-b-"))];
    for (const outDir of dirs) await runDemo({ ...SHORT, episodes: 120, arms: ["governed"], outDir, signingKey: privateKey });
    for (const file of ["audit-governed.jsonl", "audit-governed.jsonl.pub", "summary.json"]) {
      expect(readFileSync(join(dirs[1]!, file)).equals(readFileSync(join(dirs[0]!, file))), file).toBe(true);
    }
    expect((await verifyJsonl(join(dirs[0]!, "audit-governed.jsonl"), { publicKey: privateKey, requireSealed: true })).valid).toBe(true);
  });
});

describe("train: stopped from outside", () => {
  it("an abort (a timer here, Ctrl-C in the CLI) stops at the next episode with every entry on disk", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-demo-abort-"));
    const controller = new AbortController();
    // The episodes never wait on I/O: this timer fires only because the arm hands the event loop turns.
    const onEpisode = (_arm: string, done: number): void => {
      if (done === 1) setTimeout(() => controller.abort("SIGINT"), 50);
    };
    const stopped = runDemo({ ...SHORT, episodes: 20_000, arms: ["governed"], outDir: dir, signal: controller.signal, onEpisode });
    const error = await stopped.then(() => undefined, (thrown: unknown) => thrown);
    expect(isPolicyKernelError(error, "interrupted")).toBe(true);
    const message = (error as Error).message;
    const [, done, entries, path] = /^SIGINT: the governed arm stopped after (\d+) of 20000 training episodes; its audit trail so far \((\d+) entries, hash-chained\) is (.+)$/.exec(message) ?? [];
    expect(Number(done)).toBeGreaterThan(0);
    expect(Number(done)).toBeLessThan(20_000);
    expect(path).toBe(join(dir, "audit-governed.jsonl.partial"));
    expect(await verifyJsonl(path!, { expectedCount: Number(entries) })).toMatchObject({ valid: true, count: Number(entries) });
    expect((await readJsonl(path!)).filter((e) => e.type === "policy_check").length).toBeGreaterThanOrEqual(Number(done));
  });
  it("a run stopped between arms does not start the next one, and leaves no trail for it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-demo-abort3-"));
    const controller = new AbortController();
    const onEpisode = (arm: string, done: number, total: number): void => {
      if (arm === "ungoverned" && done === total) controller.abort("SIGINT");
    };
    await expect(runDemo({ ...SHORT, episodes: 10, outDir: dir, signal: controller.signal, onEpisode })).rejects.toThrow(/^SIGINT: the governed arm was not started$/);
    expect(readdirSync(dir).sort()).toEqual(["audit-ungoverned.jsonl", "audit-ungoverned.jsonl.pub", "spans-ungoverned.json"]);
  });

  it("a trail that cannot be closed after the interruption says so, and names the interruption too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-demo-abort4-"));
    const controller = new AbortController();
    const close = FlightRecorder.prototype.close;
    // The disk fills as the partial trail is closed (the file itself is closed, so nothing leaks).
    const failing = vi.spyOn(FlightRecorder.prototype, "close").mockImplementation(function (this: FlightRecorder) {
      close.call(this);
      throw new PolicyKernelError("io_error", "cannot append to the audit log: ENOSPC: no space left on device", { file: this.jsonlPath });
    });
    try {
      const onEpisode = (_arm: string, done: number): void => {
        if (done === 2) controller.abort("SIGINT");
      };
      const error = await runDemo({ ...SHORT, episodes: 30, arms: ["governed"], outDir: dir, signal: controller.signal, onEpisode }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(isPolicyKernelError(error, "io_error")).toBe(true);
      expect((error as Error).message).toMatch(/ENOSPC: no space left on device; the arm had stopped before that: SIGINT: the governed arm stopped after 2 of 30 training episodes/);
      expect(isPolicyKernelError((error as Error).cause, "interrupted")).toBe(true);

      // Without an earlier failure the close error is the error, unchanged.
      const plain = await runDemo({ ...SHORT, episodes: 3, arms: ["governed"], outDir: mkdtempSync(join(tmpdir(), "pk-demo-close-")) }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(isPolicyKernelError(plain, "io_error")).toBe(true);
      expect((plain as Error).message).toMatch(/audit-governed\.jsonl\.partial: cannot append to the audit log: ENOSPC: no space left on device$/);
      expect((plain as Error).cause).toBeUndefined();
    } finally {
      failing.mockRestore();
    }
  });

  it("an arm that finished before the interruption keeps its verified trail and spans under their final names", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-demo-abort2-"));
    const controller = new AbortController();
    const onEpisode = (arm: string, done: number): void => {
      if (arm === "governed" && done === 1) controller.abort("SIGTERM");
    };
    await expect(runDemo({ ...SHORT, episodes: 30, outDir: dir, signal: controller.signal, onEpisode })).rejects.toThrow(/^SIGTERM: the governed arm stopped after 1 of 30/);
    expect(readdirSync(dir).sort()).toEqual(["audit-governed.jsonl.partial", "audit-governed.jsonl.partial.pub", "audit-ungoverned.jsonl", "audit-ungoverned.jsonl.pub", "spans-ungoverned.json"]);
    expect(await verifyJsonl(join(dir, "audit-ungoverned.jsonl"), { publicKey: join(dir, "audit-ungoverned.jsonl.pub") })).toMatchObject({ valid: true, sealed: true });
    // The interrupted arm's trail was closed when it stopped: sealed too, over every entry it recorded.
    expect(await verifyJsonl(join(dir, "audit-governed.jsonl.partial"), { publicKey: join(dir, "audit-governed.jsonl.partial.pub") })).toMatchObject({ valid: true, sealed: true });
    expect(JSON.parse(readFileSync(join(dir, "spans-ungoverned.json"), "utf8")).length).toBeGreaterThan(0);
  });
});

describe("train: learning is real", () => {
  it("the governed agent's greedy policy scores better after training than before", async () => {
    const { summary } = await runDemo({ episodes: 400, seed: 11, arms: ["governed"], evalWindow: 100 });
    const governed = summary.arms.governed!;
    expect(governed.greedyAfter.accuracy).toBeGreaterThan(governed.greedyBefore.accuracy + 0.2);
    expect(governed.greedyAfter.attemptedViolationRate).toBeLessThan(governed.greedyBefore.attemptedViolationRate);
    expect(governed.lastWindow.meanReward).toBeGreaterThan(0);
  });
});

describe("train command: clear errors for bad values", () => {
  it.each([
    [["--episodes", "0"], /--episodes: must be a whole number/],
    [["--episodes", "ten"], /--episodes: must be a whole number/],
    [["--seed", "1.5"], /--seed: must be an integer/],
    [["--arms", "governed,nope"], /--arms: must be a comma-separated subset/],
    [["--arms", ""], /--arms: must be a comma-separated subset/],
    [["--episodes", "10", "--eval-window", "11"], /--eval-window: must be a whole number from 1 to 10/],
  ])("%j", async (argv, message) => {
    const error = await trainCommand(argv).catch((e: unknown) => e);
    expect(isPolicyKernelError(error, "invalid_input")).toBe(true);
    expect(String((error as Error).message)).toMatch(message);
  });

  it("takes the kernel flags eval takes (--data reaches the policies)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-train-data-"));
    const data = join(dir, "data.json");
    writeFileSync(data, JSON.stringify({ policy_kernel: { config: { cost: { max_cost_usd: 0 } } } }));
    const write = process.stdout.write;
    let out = "";
    process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
    try {
      expect(await trainCommand(["--episodes", "5", "--arms", "governed", "--no-progress", "--json", "--out", dir, "--data", data])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const summary = JSON.parse(out) as { arms: { governed: { training: { violationsByPolicy: Record<string, number> } } } };
    expect(summary.arms.governed.training.violationsByPolicy["cost"]).toBeGreaterThan(0);
  });

  it("rejects an unknown option", async () => {
    await expect(trainCommand(["--episdes", "5"])).rejects.toThrow(/unknown flag --episdes \(did you mean --episodes\?\)/);
  });
});
