import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { docPages, fences, type DocPage, type Fence } from "../helpers/markdown.js";
import { opaPath } from "../helpers/opa.js";

/**
 * The documentation's examples are doctests, in README.md and every docs/**\/*.md page:
 *
 * - Every ```ts block is an example, marked ```ts example=NAME: it runs against the real kernel and the
 *   default policies (imports from "policy-kernel" are pointed at src/index.ts), and what it prints with
 *   console.log must equal the ```text output=NAME block. An illustrative fragment that cannot run is
 *   written as ```text, never as ```ts.
 * - Every ```sh block that runs `policy-kernel …` or `npx policy-kernel …` is an example, marked
 *   ```sh example=NAME (add exit=N when its last command must exit N; 0 otherwise). It runs as one bash
 *   script against the built CLI (dist/src/cli/main.js, from `make build`), in a fresh scratch folder
 *   where `bundle/`, `rules/`, `rego/` and `test/cases/` link to the repository's, so it may write files
 *   there as a reader would in a clone. The script's stdout and stderr together must equal its
 *   ```text output=NAME block; its exit status is that of its last command.
 * - Exempt, because they cannot run in a test: ```sh blocks that do not call `policy-kernel` (make demo,
 *   make bench, make test, npm or go installs, opa): they build, install or take minutes, and `make test`
 *   runs what they run. Blocks in other languages (json, yaml, rego, text) are data or output.
 *
 * Names are unique across all pages; an output block names an example. `UPDATE_DOCS=1 npx vitest run
 * test/docs` rewrites every output block from a real run.
 */
const root = join(import.meta.dirname, "..", "..");
const generated = join(root, "test", "docs", ".generated");
const srcIndex = join(root, "src", "index.ts");
const cli = join(root, "dist", "src", "cli", "main.js");
const update = process.env["UPDATE_DOCS"] === "1";

interface Block extends Fence {
  page: DocPage;
}

const pages = docPages(root);
const blocks: Block[] = pages.flatMap((page) => fences(page.text).map((fence) => ({ ...fence, page })));
const runsCli = (body: string): boolean => /(^|[\s|;&(])(npx\s+)?policy-kernel(\s|$)/m.test(body.replace(/#.*$/gm, ""));
const isSh = (block: Block): boolean => ["sh", "bash", "shell", "console"].includes(block.lang);
const examples = blocks.filter((b) => b.attrs.has("example"));
const outputs = new Map(blocks.filter((b) => b.lang === "text" && b.attrs.has("output")).map((b) => [b.attrs.get("output")!, b]));
const where = (b: Block): string => `${b.page.path}:${b.start + 1}`;

const actual = new Map<string, string>();

afterAll(() => {
  if (!update) return;
  for (const page of pages) {
    const lines = page.text.split("\n");
    // From the bottom up, so earlier blocks keep their line numbers.
    const mine = [...outputs.values()].filter((b) => b.page === page && actual.has(b.attrs.get("output")!)).sort((a, b) => b.start - a.start);
    for (const block of mine) lines.splice(block.start + 1, block.end - block.start - 1, ...actual.get(block.attrs.get("output")!)!.split("\n"));
    if (mine.length > 0) writeFileSync(join(root, page.path), lines.join("\n"));
  }
});

describe("documentation examples: the rules", () => {
  it("finds the pages and the tutorial's examples", () => {
    expect(pages.map((p) => p.path)).toContain("README.md");
    expect(examples.map((e) => e.attrs.get("example"))).toEqual(
      expect.arrayContaining(["quick-start", "runner-callback", "reward-configs", "env-loop", "emitter", "training-loop"]),
    );
  });

  it("marks every ts block as an example", () => {
    const unmarked = blocks.filter((b) => ["ts", "typescript"].includes(b.lang) && !b.attrs.has("example")).map(where);
    expect(unmarked, "a ```ts block that is not ```ts example=NAME (make it runnable, or make it ```text)").toEqual([]);
  });

  it("marks every sh block that runs policy-kernel as an example", () => {
    const unmarked = blocks.filter((b) => isSh(b) && runsCli(b.body) && !b.attrs.has("example")).map(where);
    expect(unmarked, "a ```sh block running policy-kernel that is not ```sh example=NAME").toEqual([]);
  });

  it("gives examples unique names, and every output block an example", () => {
    const names = examples.map((e) => e.attrs.get("example")!);
    expect(names.filter((name, i) => names.indexOf(name) !== i), "example names used twice").toEqual([]);
    expect([...outputs.keys()].filter((name) => !names.includes(name)), "output blocks naming no example").toEqual([]);
    expect(examples.filter((e) => !["ts", "typescript"].includes(e.lang) && !isSh(e)).map(where), "examples in another language").toEqual([]);
  });
});

describe("documentation examples: types", () => {
  // Running an example strips its types; a reader compiles it. So every ts example must also
  // type-check under the project's strict settings, or a renamed option would rot it silently.
  it("type-checks every ts example under strict TypeScript", () => {
    const folder = join(generated, "typecheck");
    mkdirSync(folder, { recursive: true });
    const importPath = relative(folder, srcIndex).replace(/\.ts$/, ".js");
    const files = examples
      .filter((e) => !isSh(e))
      .map((e) => {
        const file = join(folder, `${e.attrs.get("example")!}.ts`);
        // `export {}` makes each file a module, so top-level await and names stay per example.
        writeFileSync(file, `${e.body.replaceAll('from "policy-kernel"', `from "${importPath}"`)}\nexport {};\n`);
        return file;
      });
    const tsconfig = join(folder, "tsconfig.json");
    writeFileSync(tsconfig, JSON.stringify({ extends: relative(folder, join(root, "tsconfig.json")), compilerOptions: { noEmit: true }, include: [], files }));
    const run = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", tsconfig], { encoding: "utf8" });
    expect(run.stdout + run.stderr, "tsc errors in the documentation's examples").toBe("");
    expect(run.status).toBe(0);
  }, 120_000);
});

for (const page of pages) {
  const mine = examples.filter((e) => e.page === page);
  if (mine.length === 0) continue;
  describe(`examples in ${page.path}`, () => {
    afterEach(() => vi.restoreAllMocks());
    for (const example of mine) {
      const name = example.attrs.get("example")!;
      it(`runs "${name}"`, isSh(example) ? () => runShell(name, example) : () => runTypeScript(name, example.body));
    }
  });
}

async function runTypeScript(name: string, code: string): Promise<void> {
  mkdirSync(generated, { recursive: true });
  const file = join(generated, `${name}.ts`);
  const importPath = relative(generated, srcIndex).replace(/\.ts$/, ".js");
  writeFileSync(file, code.replaceAll('from "policy-kernel"', `from "${importPath}"`));
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
  });
  await import(file);
  check(name, lines.join("\n"));
}

function runShell(name: string, example: Block): void {
  expect(existsSync(cli), `${cli} is missing: run \`make build\` before the doctests`).toBe(true);
  const scratch = mkdtempSync(join(tmpdir(), `pk-doc-${name}-`));
  const bin = join(scratch, ".bin");
  mkdirSync(bin);
  // `policy-kernel` and `npx policy-kernel` both mean the built CLI; any other npx use is not a doctest.
  writeFileSync(join(bin, "policy-kernel"), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`);
  writeFileSync(join(bin, "npx"), `#!/bin/sh\n[ "$1" = policy-kernel ] || { echo "doctest: only npx policy-kernel runs here" >&2; exit 127; }\nshift\nexec policy-kernel "$@"\n`);
  // `opa` is the pinned OPA, so a page can build the bundle its example then evaluates.
  if (example.body.includes("opa ")) writeFileSync(join(bin, "opa"), `#!/bin/sh\nexec "${opaPath()}" "$@"\n`);
  for (const tool of ["policy-kernel", "npx", "opa"]) if (existsSync(join(bin, tool))) chmodSync(join(bin, tool), 0o755);
  for (const path of ["bundle", "rules", "rego", "examples", join("test", "cases")]) {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    symlinkSync(join(root, path), join(scratch, path));
  }
  const result = spawnSync("bash", ["-c", `exec 2>&1\nset -o pipefail\n${example.body}`], {
    cwd: scratch,
    encoding: "utf8",
    env: { ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}`, NO_COLOR: "1" },
    timeout: 120_000,
  });
  const output = (result.stdout ?? "").replace(/\s+$/, "");
  expect(result.status, `${where(example)} exit status; output:\n${output}`).toBe(Number(example.attrs.get("exit") ?? "0"));
  check(name, output);
}

/** Compares with the output block, or records the run for UPDATE_DOCS. */
function check(name: string, printed: string): void {
  actual.set(name, printed);
  const expected = outputs.get(name);
  if (expected !== undefined && !update) expect(printed).toBe(expected.body.trimEnd());
}

