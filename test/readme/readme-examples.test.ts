import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

/**
 * The README's examples are doctests: every ```ts example=NAME block runs against the
 * real kernel and default policies, and what it prints must equal the ```text output=NAME
 * block after it. An example without an output block only has to run without throwing.
 * `UPDATE_README=1 npx vitest run test/readme` rewrites the output blocks from a real run.
 */
const root = join(import.meta.dirname, "..", "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const generated = join(root, "test", "readme", ".generated");
const srcIndex = join(root, "src", "index.ts");

const examples = [...readme.matchAll(/```ts example=([\w-]+)\n([\s\S]*?)```/g)].map((m) => ({ name: m[1]!, code: m[2]! }));
const outputs = new Map([...readme.matchAll(/```text output=([\w-]+)\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!]));

const actual = new Map<string, string>();

describe("README examples", () => {
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => {
    if (process.env["UPDATE_README"] !== "1") return;
    const updated = readme.replace(/```text output=([\w-]+)\n[\s\S]*?```/g, (block, name: string) =>
      actual.has(name) ? `\`\`\`text output=${name}\n${actual.get(name)}\n\`\`\`` : block,
    );
    writeFileSync(join(root, "README.md"), updated);
  });

  it("has the tutorial's examples", () => {
    expect(examples.map((e) => e.name)).toEqual(
      expect.arrayContaining(["quick-start", "runner-callback", "reward-configs", "env-loop", "emitter", "training-loop"]),
    );
  });

  for (const example of examples) {
    it(`runs "${example.name}"`, async () => {
      mkdirSync(generated, { recursive: true });
      const file = join(generated, `${example.name}.ts`);
      const importPath = relative(generated, srcIndex).replace(/\.ts$/, ".js");
      writeFileSync(file, example.code.replaceAll('from "policy-kernel"', `from "${importPath}"`));
      const lines: string[] = [];
      vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
      await import(file);
      actual.set(example.name, lines.join("\n"));
      const expected = outputs.get(example.name);
      if (expected !== undefined && process.env["UPDATE_README"] !== "1") expect(lines.join("\n")).toBe(expected.trimEnd());
    });
  }
});
