// Progress: a cli-progress bar on a terminal (a real pseudo-terminal from `script`), today's plain
// lines anywhere else, and stdout left alone either way.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { isBarTerminal, stepProgress, trainProgress } from "../../src/cli/progress.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "pk-progress-"));
const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

/** The plain lines promised off a terminal: one at every tenth of an arm, and the last. */
function plainLines(arm: string, total: number): string[] {
  const step = Math.max(1, Math.ceil(total / 10));
  const lines: string[] = [];
  for (let done = 1; done <= total; done++) if (done % step === 0 || done === total) lines.push(`train: ${arm} ${done}/${total} episodes`);
  return lines;
}

/** A stream that keeps what is written; `isTTY` as a terminal would set it. */
function sink(isTTY: boolean): PassThrough & { readonly isTTY: boolean; text(): string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  return Object.assign(stream, { isTTY, text: () => Buffer.concat(chunks).toString("utf8") });
}

describe("progress selection", () => {
  it("draws a bar only on a terminal that can move the cursor", () => {
    expect(isBarTerminal({ isTTY: true }, { TERM: "xterm-256color" })).toBe(true);
    expect(isBarTerminal({ isTTY: true }, {})).toBe(true);
    expect(isBarTerminal({ isTTY: true }, { TERM: "dumb" })).toBe(false);
    expect(isBarTerminal({ isTTY: false }, { TERM: "xterm" })).toBe(false);
    expect(isBarTerminal({}, { TERM: "xterm" })).toBe(false);
  });

  it("off a terminal, train's progress is the plain lines, one per tenth of each arm", async () => {
    const out = sink(false);
    const progress = trainProgress(out);
    for (const arm of ["ungoverned", "governed"]) for (let done = 1; done <= 25; done++) progress.onEpisode(arm, done, 25);
    progress.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.text()).toBe([...plainLines("ungoverned", 25), ...plainLines("governed", 25)].map((line) => `${line}\n`).join(""));
  });

  it("a stepped task logs every message off a terminal; on one, the steps move a bar and only the heading is logged", async () => {
    const messages = ["measuring 4 rows", "  round 1/3 done", "  round 2/3 done", "  round 3/3 done"];
    const steps = [0, 1, 2, 3].map((done) => ({ done, total: 3 }));
    const plain: string[] = [];
    const off = stepProgress((line) => plain.push(line), "measuring", "rounds", sink(false), false);
    messages.forEach((message, i) => off(message, steps[i]));
    off("after");
    off.stop();
    expect(plain).toEqual([...messages, "after"]);

    const logged: string[] = [];
    const terminal = sink(true);
    const on = stepProgress((line) => logged.push(line), "measuring", "rounds", terminal, true);
    messages.forEach((message, i) => on(message, steps[i]));
    on("after");
    on.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(logged).toEqual([messages[0], "after"]);
    expect(terminal.text()).toContain("measuring [##############################] 3/3 rounds | 100%");
  });
});

describe("policy-kernel train progress", () => {
  it("piped (not a terminal): stderr holds exactly the plain lines, stdout only the summary", async () => {
    const out = join(work, "piped");
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [cli, "train", "--episodes", "20", "--arms", "governed", "--out", out, "--json"], { encoding: "utf8", cwd: root }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }),
      );
    });
    expect(code).toBe(0);
    expect(stderr).toBe(plainLines("governed", 20).map((line) => `${line}\n`).join(""));
    expect(JSON.parse(stdout)).toEqual(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")));
  });

  it.skipIf(!hasScript)("on a terminal (a pseudo-terminal from script): a bar on stderr per arm, no plain lines, stdout untouched", () => {
    const out = join(work, "tty");
    const summary = join(work, "tty-summary.json");
    const log = join(work, "tty.log");
    const command = [process.execPath, cli, "train", "--episodes", "20", "--out", out, "--json"].map((word) => `'${word}'`).join(" ");
    const result = spawnSync("script", ["-qec", `${command} > '${summary}'`, log], { encoding: "utf8", cwd: root, env: { ...process.env, TERM: "xterm" } });
    expect(result.status).toBe(0);
    const terminal = readFileSync(log, "utf8");
    for (const arm of ["ungoverned", "governed"]) expect(terminal).toContain(`${arm.padEnd(10)} [##############################] 20/20 episodes | 100%`);
    expect(terminal).not.toContain("train: governed");
    expect(JSON.parse(readFileSync(summary, "utf8"))).toEqual(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")));
  });
});
