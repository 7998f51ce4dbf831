// The real `policy-kernel train` killed with SIGKILL at random points, again and again into the same
// run folder: no trail is ever lost, changed or overwritten, each verifies with the key beside it,
// and once a run has finished the folder is refused.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyJsonl } from "../../src/audit/jsonl.js";
import { createRng } from "../../src/env/rng.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");

/** Every trail in the folder (finished, partial or interrupted) by name, with its bytes. */
function trails(dir: string): Map<string, Buffer> {
  return new Map(
    readdirSync(dir)
      .filter((name) => /^audit-.*\.jsonl(\.partial)?$/.test(name))
      .map((name) => [name, readFileSync(join(dir, name))]),
  );
}

/** The inode of the first arm's partial trail, if there is one. */
function partialInode(out: string): number | undefined {
  const path = join(out, "audit-ungoverned.jsonl.partial");
  return existsSync(path) ? statSync(path).ino : undefined;
}

/** Runs train into `out` and SIGKILLs it `delayMs` after its own trail file appears (or lets it finish when undefined). */
function train(out: string, episodes: number, delayMs: number | undefined): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  // An earlier killed run's partial trail is there until this run moves it aside: wait for a new file.
  const earlier = partialInode(out);
  const child = spawn(process.execPath, [cli, "train", "--episodes", String(episodes), "--arms", "ungoverned,governed", "--out", out, "--no-progress", "--json"], { cwd: root });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdout.resume();
  return new Promise((resolve) => {
    let poll: NodeJS.Timeout | undefined;
    if (delayMs !== undefined) {
      poll = setInterval(() => {
        const inode = partialInode(out);
        if (inode !== undefined && inode !== earlier) {
          clearInterval(poll);
          setTimeout(() => child.kill("SIGKILL"), delayMs);
        }
      }, 5);
    }
    child.on("exit", (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stderr });
    });
  });
}

describe("policy-kernel train, killed with SIGKILL at random points", () => {
  it("never loses, changes or overwrites a trail; every one verifies with its key; a finished folder is refused", async () => {
    const out = mkdtempSync(join(tmpdir(), "pk-kill-train-"));
    const rng = createRng("kill-train-delays");
    const seen = new Map<string, Buffer>();
    const kills: number[] = [];
    for (let round = 0; round < 4; round++) {
      const delay = Math.round(rng.next() * 1_500);
      const { signal } = await train(out, 4_000, delay);
      if (signal === "SIGKILL") kills.push(delay);
      const now = trails(out);
      // Every earlier trail's bytes are still here (the partial one under its interrupted-… name).
      const contents = [...now.values()];
      for (const [name, bytes] of seen) expect(contents.some((b) => b.equals(bytes)), `${name} from an earlier round`).toBe(true);
      for (const [name, bytes] of now) {
        seen.set(`${round}:${name}`, bytes);
        const result = await verifyJsonl(join(out, name), { publicKey: join(out, `${name}.pub`) });
        // Killed outright: never a break, at worst an unsealed tail (entries after the last checkpoint, or a torn line).
        expect(result, `${name} after a kill at ${delay} ms`).toMatchObject({ valid: true, signaturesChecked: true });
      }
    }
    // Killed every round (each after its trail had begun), never finished: no round was refused.
    expect(kills).toHaveLength(4);

    // A run that finishes (short), into the same folder: the interrupted trails are kept beside it.
    const finished = await train(out, 40, undefined);
    expect(finished.code).toBe(0);
    const after = trails(out);
    for (const [name, bytes] of seen) expect([...after.values()].some((b) => b.equals(bytes)), name).toBe(true);
    // Each killed run left at least its first arm's trail, now kept as audit-<arm>.interrupted-<time>.jsonl with its key.
    const interrupted = [...after.keys()].filter((name) => name.includes(".interrupted-"));
    expect(interrupted.length).toBeGreaterThanOrEqual(kills.length);
    for (const name of interrupted) expect(existsSync(join(out, `${name}.pub`)), name).toBe(true);
    for (const arm of ["ungoverned", "governed"]) {
      expect(await verifyJsonl(join(out, `audit-${arm}.jsonl`), { publicKey: join(out, `audit-${arm}.jsonl.pub`), requireSealed: true })).toMatchObject({ valid: true, sealed: true });
    }

    // Then the folder holds a finished run: the next run is refused and changes nothing.
    const snapshot = new Map(readdirSync(out).map((name) => [name, readFileSync(join(out, name))]));
    const refused = spawnSync(process.execPath, [cli, "train", "--episodes", "40", "--out", out, "--no-progress"], { cwd: root, encoding: "utf8" });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/already holds a finished run \(summary\.json\), and a trail is never overwritten; give --out a new folder/);
    expect(readdirSync(out).sort()).toEqual([...snapshot.keys()].sort());
    for (const [name, bytes] of snapshot) expect(readFileSync(join(out, name)).equals(bytes), name).toBe(true);
  }, 240_000);
});

describe("policy-kernel train without --out", () => {
  it("writes runs/<seed>, then runs/<seed>-2 beside it rather than over it", () => {
    const cwd = mkdtempSync(join(tmpdir(), "pk-default-out-"));
    const runTrain = () => spawnSync(process.execPath, [cli, "train", "--episodes", "5", "--arms", "governed", "--seed", "3", "--no-progress"], { cwd, encoding: "utf8" });
    expect(runTrain().status).toBe(0);
    const first = readFileSync(join(cwd, "runs", "3", "audit-governed.jsonl"));
    const second = runTrain();
    expect(second.status).toBe(0);
    expect(second.stdout).toContain(`run folder: ${join(cwd, "runs", "3-2")} `);
    expect(readFileSync(join(cwd, "runs", "3", "audit-governed.jsonl")).equals(first)).toBe(true);
    expect(readdirSync(join(cwd, "runs")).sort()).toEqual(["3", "3-2"]);
  });
});
