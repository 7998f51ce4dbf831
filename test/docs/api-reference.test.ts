// The API reference check (`make docs-check`) with the project's own typedoc.json and plugins, run on
// small entry files: a clean one passes, and each defect the check is there for fails it on its own.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const typedoc = join(root, "node_modules", "typedoc", "bin", "typedoc");
const dirs: string[] = [];

const CLEAN = `/** Options of {@link greet}. */
export interface GreetOptions {
  readonly loud?: boolean;
}
/** Says hello; see {@link GreetOptions}. */
export function greet(name: string, options: GreetOptions = {}): string {
  return options.loud === true ? \`HELLO \${name}\` : \`hello \${name}\`;
}
`;

/** Runs typedoc with the repository's typedoc.json on one entry file; never writes output (`--emit none`). */
function checkEntry(source: string, more: Readonly<Record<string, string>> = {}): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), "pk-typedoc-"));
  dirs.push(dir);
  writeFileSync(join(dir, "index.ts"), source);
  for (const [path, text] of Object.entries(more)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  // TypeDoc checks exports only for symbols of a package it knows (it names them `package/path`).
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "fixture", version: "0.0.0", type: "module" }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", types: [] }, include: ["index.ts", "src"] }),
  );
  // Extends the real options, so a change to typedoc.json's validation is what this test sees.
  writeFileSync(join(dir, "typedoc.json"), JSON.stringify({ extends: [join(root, "typedoc.json")], entryPoints: ["index.ts"], tsconfig: "tsconfig.json" }));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [typedoc, "--options", join(dir, "typedoc.json"), "--emit", "none"],
      { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// Four TypeDoc runs side by side, ~3 s of CPU each; the margin is for a loaded machine.
describe("API reference check (typedoc.json validation)", { timeout: 120_000 }, () => {
  it.concurrent("passes an entry whose exports are documented, linked and exported", async () => {
    const { code, output } = await checkEntry(CLEAN);
    expect(output).not.toContain("[warning]");
    expect(code).toBe(0);
  });

  it.concurrent("fails on an {@link} that does not resolve", async () => {
    const { code, output } = await checkEntry(CLEAN.replace("see {@link GreetOptions}", "see {@link GreetOptionz}"));
    expect(output).toContain('[warning] Failed to resolve link to "GreetOptionz" in comment for greet');
    expect(code).not.toBe(0);
  });

  it.concurrent("fails when a public signature names a type the entry does not export", async () => {
    // The link goes too: a link to the unexported type is reported on its own, as a different warning.
    const source = CLEAN.replace("export interface GreetOptions", "interface GreetOptions").replace("; see {@link GreetOptions}", "");
    const { code, output } = await checkEntry(source);
    expect(output).toMatch(/\[warning\] GreetOptions, defined in .*index\.ts, is referenced by greet\.options but not included in the documentation/);
    expect(code).not.toBe(0);
  });

  it.concurrent("fails on an exported function without a doc comment", async () => {
    const { code, output } = await checkEntry(CLEAN.replace("/** Says hello; see {@link GreetOptions}. */\n", ""));
    expect(output).toMatch(/\[warning\] greet \(CallSignature\), defined in .*, does not have any documentation/);
    expect(code).not.toBe(0);
  });

  it.concurrent("fails on an export from a folder of src/ that has no area in the reference (typedoc-areas.mjs)", async () => {
    const widget = "/** A widget. */\nexport interface Widget {\n  readonly size: number;\n}\n";
    const { code, output } = await checkEntry(`${CLEAN}export type { Widget } from "./src/widgets/widget.js";\n`, { "src/widgets/widget.ts": widget });
    expect(output).toContain("[warning] Widget (src/widgets/widget.ts) is in no area of the API reference: add its path to AREAS in typedoc-areas.mjs");
    expect(code).not.toBe(0);
  });
});
