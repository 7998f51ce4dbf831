// CLI manners through the built CLI (dist/): --version, help, and one clear line with exit 1 for
// every bad command line of every command, never a stack trace.
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "pk-manners-"));
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;
const ACTION = JSON.stringify({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } });

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI without blocking, so the cases of a table run side by side (each start costs most of a second). */
function run(args: readonly string[], stdin = ""): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, ...args], { encoding: "utf8", cwd: work }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

describe("policy-kernel --version, version, help", () => {
  it("--version and -V print the package.json version alone on one line", async () => {
    for (const flag of ["--version", "-V"]) {
      expect(await run([flag])).toEqual({ code: 0, stdout: `${manifest.version}\n`, stderr: "" });
    }
    expect(await run(["--version", "extra"])).toMatchObject({ code: 1, stdout: "" });
  });

  it("version prints the version, the default bundle's revision and pinned OPA, and Node; --json the same as data", async () => {
    const opa = readFileSync(join(root, "scripts", "opa-version.txt"), "utf8").trim();
    const text = await run(["version"]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`policy-kernel ${manifest.version}`);
    expect(lines[1]).toMatch(new RegExp(`^default bundle: rego-[0-9a-f]+ \\(bundle/default\\.tar\\.gz, built with OPA ${opa.replace(/\./g, "\\.")}\\)$`));
    expect(lines[2]).toBe(`node: ${process.version} (${process.platform} ${process.arch})`);
    const json = await run(["version", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ version: manifest.version, bundle: { path: "bundle/default.tar.gz", revision: expect.stringMatching(/^rego-/), opa }, node: process.version, platform: `${process.platform} ${process.arch}` });
  });

  it("help, --help and -h print the overview naming every command on stdout, exit 0", async () => {
    const [help, long, short] = await Promise.all([run(["help"]), run(["--help"]), run(["-h"])]);
    expect(help.code).toBe(0);
    expect(long).toEqual(help);
    expect(short).toEqual(help);
    for (const name of ["eval", "test", "build", "train", "verify", "help", "version"]) expect(help.stdout).toMatch(new RegExp(`^ {2}${name} +\\S`, "m"));
    expect(help.stdout).toContain("exit codes:");
  });

  it("help COMMAND prints that command's usage, as COMMAND --help does", async () => {
    for (const name of ["eval", "train", "verify", "version"]) {
      const [viaHelp, viaFlag] = await Promise.all([run(["help", name]), run([name, "--help"])]);
      expect(viaHelp).toMatchObject({ code: 0, stderr: "" });
      expect(viaHelp.stdout).toMatch(new RegExp(`^usage: policy-kernel ${name}`));
      expect(viaFlag).toEqual(viaHelp);
    }
  });

  it("help with an unknown command exits 1 naming the commands; no command prints the overview on stderr, exit 1", async () => {
    const unknown = await run(["help", "nosuch"]);
    expect(unknown).toMatchObject({ code: 1, stdout: "" });
    expect(unknown.stderr).toBe(`policy-kernel help: unknown command "nosuch" (commands: eval, test, build, train, verify, replay, diff, serve, help, version); run "policy-kernel help" for the overview\n`);
    const none = await run([]);
    expect(none).toMatchObject({ code: 1, stdout: "" });
    expect(none.stderr).toBe((await run(["help"])).stdout);
    // Only the table's own commands: an Object.prototype name is not one.
    expect((await run(["constructor"])).stderr).toMatch(/^policy-kernel: unknown command "constructor" \(commands: /);
    expect((await run(["--frob"])).stderr).toMatch(/^policy-kernel: unknown flag --frob before a command/);
  });
});

/** A bad command line, the flag or word its one-line error must name, and the command whose --help it points to. */
const BAD_LINES: ReadonlyArray<readonly [args: string[], names: string]> = [
  [["eval", "--bogus"], "unknown flag --bogus"],
  [["eval", "--input"], "--input needs a value"],
  [["eval", "--input", "--now", "2026-01-01T00:00:00Z"], `--input needs a value, got the flag-like "--now"`],
  [["eval", "--input", "a.json", "--input", "b.json"], "--input given twice"],
  [["eval", "--fail-open=yes"], "--fail-open takes no value"],
  [["eval", "action.json"], `unexpected argument "action.json"`],
  [["eval", "--now", "yesterday"], `--now: must be an ISO 8601 date-time with a time zone`],
  [["eval", "--now", "2026-11-21T10:00:00"], `--now: must be an ISO 8601 date-time with a time zone`],
  [["eval", "--log-level", "loud"], `--log-level: must be one of trace, debug, info, warn, error, fatal, silent, got "loud"`],
  [["eval", "--bundle", "b.tar.gz", "--no-bundle"], "--bundle and --no-bundle contradict each other"],
  [["eval", "--bundle-max-bytes", "lots"], `--bundle-max-bytes: must be a whole number`],
  [["train", "--episdes", "5"], "unknown flag --episdes (did you mean --episodes?)"],
  [["train", "--episodes"], "--episodes needs a value"],
  [["train", "--episodes", "0"], `--episodes: must be a whole number from 1 to`],
  [["train", "--episodes", "2.5"], `--episodes: must be a whole number`],
  [["train", "--eval-window", "9", "--episodes", "5"], `--eval-window: must be a whole number from 1 to 5, got "9"`],
  [["train", "--seed", "-5"], `--seed needs a value, got the flag-like "-5" (a value that starts with "-" is written --seed=-5)`],
  [["train", "--seed=soon"], `--seed: must be an integer, got "soon"`],
  [["train", "--arms", "governed,sideways"], `--arms: must be a comma-separated subset`],
  [["train", "--seed", "1", "--seed", "2"], "--seed given twice"],
  [["train", "--json=1"], "--json takes no value"],
  [["train", "runs/x"], `unexpected argument "runs/x"`],
  [["train", "--rules", "r.json", "--no-rules"], "--rules and --no-rules contradict each other"],
  [["verify"], "expected one trail file (TRAIL), got none"],
  [["verify", "a.jsonl", "b.jsonl"], "expected one trail file (TRAIL), got 2: a.jsonl b.jsonl"],
  [["verify", "a.jsonl", "--public-key"], "--public-key needs a value"],
  [["verify", "a.jsonl", "--json", "--json"], "--json given twice"],
  [["verify", "a.jsonl", "--sealed"], "unknown flag --sealed"],
  [["version", "--bogus"], "unknown flag --bogus"],
  [["version", "now"], `unexpected argument "now"`],
  [["help", "eval", "train"], "expected at most one command (COMMAND), got 2: eval train"],
  // build and test parse their own flags; main still makes one line of parseArgs' message.
  [["test", "--bogus"], "Unknown option '--bogus'"],
  [["test", "--bundle"], "--bundle"],
  [["build", "--bogus"], "Unknown option '--bogus'"],
  [["build", "--out"], "--out"],
];

describe("bad command lines: exit 1, one line naming the flag and where the flags are explained", () => {
  it.concurrent.each(BAD_LINES.map(([args, names]) => [args.join(" "), args, names] as const))("%s", async (_, args, names) => {
    const result = await run(args, ACTION);
    const command = args[0]!;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.endsWith("\n")).toBe(true);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(`policy-kernel ${command}: `);
    expect(result.stderr).toContain(names);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    if (command !== "help") expect(result.stderr).toContain(`run "policy-kernel ${command} --help" for its flags`);
  });
});

describe("flag values checked at the flag", () => {
  it("eval --now with a bad time exits 1 like the same time in the input file, not 2 (denied)", async () => {
    const input = join(work, "bad-now.json");
    writeFileSync(input, JSON.stringify({ agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { now: "yesterday" } }));
    const [inFile, atFlag, good] = await Promise.all([run(["eval", "--input", input]), run(["eval", "--now", "yesterday"], ACTION), run(["eval", "--now", "2026-11-21T12:00:00+02:00"], ACTION)]);
    expect(inFile.code).toBe(1);
    expect(atFlag.code).toBe(inFile.code);
    expect(good.code).toBe(0);
  });

  it("train --out naming a file, or a path inside one, says it needs a run folder and creates nothing", async () => {
    const readme = join(work, "README.md");
    writeFileSync(readme, "# not a run folder\n");
    const [file, inside] = await Promise.all([run(["train", "--out", readme, "--episodes", "1"]), run(["train", "--out", join(readme, "run"), "--episodes", "1"])]);
    expect(file).toMatchObject({ code: 1, stdout: "" });
    expect(file.stderr).toContain(`policy-kernel train: --out ${readme} is a file, not a folder: it names a run folder; give --out a new folder`);
    expect(file.stderr).not.toContain("EEXIST");
    expect(inside.code).toBe(1);
    expect(inside.stderr).toContain(`--out ${join(readme, "run")} is inside a file, not a folder`);
    expect(readFileSync(readme, "utf8")).toBe("# not a run folder\n");
  });

  it("train --out naming a finished run refuses it and says what to do; a bad flag creates no folder", async () => {
    const finished = join(work, "finished");
    mkdirSync(finished);
    writeFileSync(join(finished, "summary.json"), "{}\n");
    const refused = await run(["train", "--out", finished, "--episodes", "1"]);
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr).toContain(`--out ${finished} already holds a finished run (summary.json), and a trail is never overwritten; give --out a new folder`);
    const never = join(work, "never-made");
    expect((await run(["train", "--out", never, "--episodes", "0"])).code).toBe(1);
    expect(existsSync(never)).toBe(false);
  });

  it.skipIf(!hasScript)("eval with a terminal for stdin (a pseudo-terminal from script) says to pipe the action in, instead of waiting", () => {
    const log = join(work, "eval-tty.log");
    const result = spawnSync("script", ["-qec", `'${process.execPath}' '${cli}' eval`, log], { encoding: "utf8", cwd: work, input: "", timeout: 30_000 });
    expect(result.status).toBe(1);
    expect(readFileSync(log, "utf8")).toContain("policy-kernel eval: --input: reads the action from standard input, which is a terminal: pipe the action in");
  });
});
