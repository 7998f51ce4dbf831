import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasNginx, startNginx, type NginxServer } from "../helpers/nginx.js";
import { COSTLY_ACTION, publish, revision } from "../helpers/bundle-revisions.js";

/** The CLI with `--bundle http://...` against nginx (scripts/ensure-nginx.sh), the built CLI in dist/. */
const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const served = mkdtempSync(join(tmpdir(), "pk-cli-served-"));
const work = mkdtempSync(join(tmpdir(), "pk-cli-bundle-service-"));
let server: NginxServer;

beforeAll(async () => {
  if (hasNginx) server = await startNginx(served, "cli-token");
});
afterAll(async () => {
  await server?.stop();
});

function run(args: string[], stdin?: string) {
  const result = spawnSync(process.execPath, [cli, ...args], { input: stdin, encoding: "utf8", cwd: root });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("policy-kernel --bundle URL: flags that need one", () => {
  it("refuses service flags without a URL bundle, and contradictory ones", () => {
    const input = JSON.stringify(COSTLY_ACTION);
    expect(run(["eval", "--bundle-token", "x"], input)).toMatchObject({ code: 1, stderr: expect.stringContaining("--bundle-token applies to a bundle served by URL") });
    expect(run(["eval", "--bundle", "http://127.0.0.1:9/b.tar.gz", "--bundle-poll-min", "soon"], input)).toMatchObject({ code: 1, stderr: expect.stringContaining("--bundle-poll-min: must be a number of seconds") });
    expect(run(["eval", "--bundle", "http://127.0.0.1:9/b.tar.gz", "--bundle-poll-min", "5", "--bundle-poll-max", "1"], input).stderr).toContain("--bundle-poll-min (5) is more than --bundle-poll-max (1)");
    expect(run(["eval", "--bundle", "http://127.0.0.1:9/b.tar.gz", "--bundle-token", "a", "--bundle-token-file", "f"], input).stderr).toContain("give one");
    // Nothing listens on port 9: a load error, exit 1, not a denial.
    expect(run(["eval", "--bundle", "http://127.0.0.1:9/b.tar.gz"], input)).toMatchObject({ code: 1, stderr: expect.stringContaining("http://127.0.0.1:9/b.tar.gz: request failed (ECONNREFUSED)") });
  });
});

describe.skipIf(!hasNginx)("policy-kernel --bundle URL against nginx", () => {
  it("eval decides with the served revision (exit 0 / 2), fails on 404 (exit 1), and writes the status file", () => {
    publish(served, "cli.tar.gz", revision("cli-1", 100).bytes);
    const statusFile = join(work, "status.json");
    const allowed = run(["eval", "--bundle", `${server.origin}/cli.tar.gz`, "--bundle-status-file", statusFile], JSON.stringify(COSTLY_ACTION));
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout).provenance.bundleRevision).toBe("cli-1");
    const status = JSON.parse(readFileSync(statusFile, "utf8"));
    expect(status.bundles[`${server.origin}/cli.tar.gz`]).toMatchObject({ name: `${server.origin}/cli.tar.gz`, active_revision: "cli-1", activations: 1 });

    publish(served, "cli.tar.gz", revision("cli-2", 10).bytes);
    const denied = run(["eval", "--bundle", `${server.origin}/cli.tar.gz`], JSON.stringify(COSTLY_ACTION));
    expect(denied.code).toBe(2);
    expect(JSON.parse(denied.stdout).provenance.bundleRevision).toBe("cli-2");

    const missing = run(["eval", "--bundle", `${server.origin}/nothing.tar.gz`], JSON.stringify(COSTLY_ACTION));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`policy-kernel eval: ${server.origin}/nothing.tar.gz: server replied with 404 Not Found\n`);
  });

  it("test and eval --entrypoint take a URL bundle and a token file", () => {
    const tokenFile = join(work, "token");
    writeFileSync(tokenFile, "cli-token\n");
    mkdirSync(join(served, "secure"), { recursive: true });
    publish(join(served, "secure"), "b.tar.gz", revision("cli-secure", 100).bytes);
    const url = `${server.origin}/secure/b.tar.gz`;
    expect(run(["eval", "--bundle", url], JSON.stringify(COSTLY_ACTION))).toMatchObject({ code: 1, stderr: expect.stringContaining("401 Unauthorized") });
    const decided = run(["eval", "--bundle", url, "--bundle-token-file", tokenFile, "--entrypoint", "kernel/violations"], JSON.stringify(COSTLY_ACTION));
    expect(decided.code).toBe(0);
    expect(JSON.parse(decided.stdout).provenance.bundleRevision).toBe("cli-secure");
    const tested = run(["test", join(root, "test", "cases", "sql.yaml"), "--bundle", url, "--bundle-token", "cli-token"]);
    expect(tested.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(tested.code).toBe(0);
  });

  it("train picks up a new revision mid-run, and the trail names each decision's revision", async () => {
    publish(served, "train.tar.gz", revision("train-1", 100).bytes);
    const out = join(work, "train-run");
    const child = spawn(process.execPath, [cli, "train", "--episodes", "150", "--arms", "governed", "--out", out, "--bundle", `${server.origin}/train.tar.gz`, "--bundle-poll-min", "0.02", "--bundle-poll-max", "0.05"], { cwd: root });
    let stderr = "";
    let stdout = "";
    let published = false;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      // The first progress line (a tenth of the arm): publish the next revision mid-run.
      if (!published && /governed/.test(stderr)) {
        published = true;
        publish(served, "train.tar.gz", revision("train-2", 100).bytes);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, stderr).toBe(0);
    expect(published).toBe(true);
    // Announced once, though the evaluation kernel and the arm's kernel both swapped.
    expect(stderr.match(/bundle http:\/\/127\.0\.0\.1:\d+\/train\.tar\.gz: revision "train-2" active \(sha256 [0-9a-f]{12}\)/g)).toHaveLength(1);
    const entries = readFileSync(join(out, "audit-governed.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { type: string; decision?: { provenance: { bundleRevision: string | null } } });
    const checks = entries.filter((entry) => entry.type === "policy_check");
    const byRevision = new Map<string | null, number>();
    for (const entry of checks) byRevision.set(entry.decision!.provenance.bundleRevision, (byRevision.get(entry.decision!.provenance.bundleRevision) ?? 0) + 1);
    console.info(`train mid-run swap: ${checks.length} decisions, ${JSON.stringify(Object.fromEntries(byRevision))}`);
    expect([...byRevision.keys()].sort()).toEqual(["train-1", "train-2"]);
    // Once train-2 decides, train-1 never does again.
    const firstNew = checks.findIndex((entry) => entry.decision!.provenance.bundleRevision === "train-2");
    expect(checks.slice(firstNew).every((entry) => entry.decision!.provenance.bundleRevision === "train-2")).toBe(true);
    // The summary, the table and the report name both revisions, in order.
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { arms: { governed: { bundleRevisions: string[] } } };
    expect(summary.arms.governed.bundleRevisions).toEqual(["train-1", "train-2"]);
    expect(stdout).toMatch(/policies: bundle revisions train-1 -> train-2 \(swapped mid-run; now sha256 [0-9a-f]{12}\)/);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("bundle revisions train-1 → train-2 (swapped mid-run)");
  });
});
