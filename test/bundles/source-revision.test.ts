// The default revision of a built bundle: the sources' git commit, whether they are dirty, and the
// content hash; real git repositories in temporary folders, and the real CLI (dist/) building them.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { composeRevision, sourceCommit } from "../../src/bundles/source-revision.js";
import { readBundle } from "../../src/engines/rego/bundle.js";
import { opaPath } from "../helpers/opa.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com", GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z" };

const git = (cwd: string, ...args: string[]): string => execFileSync("git", args, { cwd, env: GIT_ENV, encoding: "utf8" }).trim();

const POLICY = 'package policies.wire\n\nviolations contains v if {\n\tinput.action.type == "transaction"\n\tinput.action.amountUsd > 500\n\tv := {"policy": "wire", "rule": "over_limit", "severity": "high", "effect": "block", "description": "over 500"}\n}\n';

/** A git repository holding policies/ (laid out as rego/) and a README, committed once. */
function repo(): { dir: string; first: string } {
  const dir = mkdtempSync(join(tmpdir(), "pk-rev-"));
  mkdirSync(join(dir, "policies"));
  writeFileSync(join(dir, "policies", "wire.rego"), POLICY);
  writeFileSync(join(dir, "policies", "data.json"), JSON.stringify({ policy_kernel: { policies: ["wire"], disabled: {}, config: {} } }));
  writeFileSync(join(dir, "README.md"), "policies\n");
  git(dir, "init", "-q", "-b", "main");
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "policies");
  return { dir, first: git(dir, "rev-parse", "HEAD") };
}

describe("sourceCommit", () => {
  it("names the last commit touching the sources, dirty exactly when they differ from it", () => {
    const { dir, first } = repo();
    const sources = [join(dir, "policies")];
    expect(sourceCommit(sources)).toEqual({ commit: first.slice(0, 12), dirty: false });
    // A commit elsewhere in the repository (the built bundle, a README) leaves the revision alone.
    writeFileSync(join(dir, "README.md"), "changed\n");
    git(dir, "commit", "-qam", "readme");
    expect(git(dir, "rev-parse", "HEAD")).not.toBe(first);
    expect(sourceCommit(sources)).toEqual({ commit: first.slice(0, 12), dirty: false });
    // An edit, a staged edit, an untracked file: dirty.
    writeFileSync(join(dir, "policies", "wire.rego"), `${POLICY}# edited\n`);
    expect(sourceCommit(sources)).toEqual({ commit: first.slice(0, 12), dirty: true });
    git(dir, "add", ".");
    expect(sourceCommit(sources)?.dirty).toBe(true);
    git(dir, "commit", "-qm", "edit policy");
    const second = git(dir, "rev-parse", "HEAD");
    expect(sourceCommit(sources)).toEqual({ commit: second.slice(0, 12), dirty: false });
    writeFileSync(join(dir, "policies", "new.rego"), "package policies.other\n");
    expect(sourceCommit(sources)).toEqual({ commit: second.slice(0, 12), dirty: true });
  });

  it("says nothing outside git, across two repositories, or in a repository without commits", () => {
    const plain = mkdtempSync(join(tmpdir(), "pk-rev-plain-"));
    expect(sourceCommit([plain])).toBeUndefined();
    const a = repo().dir;
    const b = repo().dir;
    expect(sourceCommit([join(a, "policies"), join(b, "policies")])).toBeUndefined();
    const empty = mkdtempSync(join(tmpdir(), "pk-rev-empty-"));
    git(empty, "init", "-q");
    writeFileSync(join(empty, "x.rego"), "package x\n");
    expect(sourceCommit([empty])).toBeUndefined();
  });

  it("sources never committed name HEAD and are dirty; a source named like an option stays a path", () => {
    const { dir, first } = repo();
    mkdirSync(join(dir, "--output=x"));
    writeFileSync(join(dir, "--output=x", "a.rego"), "package a\n");
    expect(sourceCommit([join(dir, "--output=x")])).toEqual({ commit: first.slice(0, 12), dirty: true });
  });

  it("composes git-<commit>[-dirty]-<content>, or the content alone", () => {
    expect(composeRevision("rego-0123456789abcdef", { commit: "3f2a9c1d0e4b", dirty: false })).toBe("git-3f2a9c1d0e4b-rego-0123456789abcdef");
    expect(composeRevision("rego-0123456789abcdef", { commit: "3f2a9c1d0e4b", dirty: true })).toBe("git-3f2a9c1d0e4b-dirty-rego-0123456789abcdef");
    expect(composeRevision("rego-0123456789abcdef", undefined)).toBe("rego-0123456789abcdef");
  });
});

describe("policy-kernel build: the default revision", () => {
  const path = `${dirname(opaPath())}:${process.env["PATH"] ?? ""}`;
  const build = (cwd: string, args: string[]) => spawnSync(process.execPath, [cli, "build", ...args], { cwd, encoding: "utf8", env: { ...process.env, PATH: path } });

  it("a folder laid out as rego/: git commit, dirty, content hash; --no-git and a plain copy give the content alone", () => {
    const { dir, first } = repo();
    const clean = build(dir, ["policies", "--out", "out/clean.tar.gz"]);
    expect(clean.status, clean.stderr).toBe(0);
    const revision = readBundle(join(dir, "out", "clean.tar.gz")).manifest.revision;
    expect(revision).toMatch(new RegExp(`^git-${first.slice(0, 12)}-rego-[0-9a-f]{16}$`));
    expect(clean.stdout).toContain(`(${revision},`);
    // --check agrees while the sources stand still, whatever else is committed (the bundle itself).
    git(dir, "add", "out");
    git(dir, "commit", "-qm", "bundle");
    expect(build(dir, ["policies", "--out", "out/clean.tar.gz", "--check"]).status).toBe(0);

    const noGit = build(dir, ["policies", "--out", "nogit.tar.gz", "--no-git"]);
    expect(noGit.status, noGit.stderr).toBe(0);
    const content = readBundle(join(dir, "nogit.tar.gz")).manifest.revision;
    expect(revision).toBe(`git-${first.slice(0, 12)}-${content}`);
    // Outside git the same sources build the content revision (and the same bytes as --no-git).
    rmSync(join(dir, ".git"), { recursive: true });
    expect(build(dir, ["policies", "--out", "plain.tar.gz"]).status).toBe(0);
    expect(readBundle(join(dir, "plain.tar.gz")).manifest.revision).toBe(content);
  }, 120_000);

  it("--entrypoint folders: a dirty tree says so; --revision and --no-git together are refused", () => {
    const { dir, first } = repo();
    writeFileSync(join(dir, "policies", "wire.rego"), `${POLICY}# edited\n`);
    const built = build(dir, ["policies", "-e", "policies/wire/violations", "--out", "e.tar.gz"]);
    expect(built.status, built.stderr).toBe(0);
    expect(readBundle(join(dir, "e.tar.gz")).manifest.revision).toMatch(new RegExp(`^git-${first.slice(0, 12)}-dirty-rego-[0-9a-f]{16}$`));
    const both = build(dir, ["policies", "--revision", "v1", "--no-git"]);
    expect(both.status).toBe(1);
    expect(both.stderr).toContain("--revision names the revision and --no-git chooses the default one");
  }, 120_000);
});
