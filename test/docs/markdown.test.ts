import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { brokenLinks, docPages, fences, headingAnchors, links, unreachablePages } from "../helpers/markdown.js";

/** The checkers the doctests and the link test rely on, on a real folder of pages with known faults. */
function site(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "pk-md-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("headingAnchors", () => {
  it("slugs headings as GitHub does: lower case, punctuation dropped, spaces to hyphens, repeats numbered", () => {
    const text = [
      "# Performance: `make bench`",
      "## GovernedEnvironment (Gymnasium semantics)",
      "## PolicyReward, RewardConfig and friends",
      "### Long runs: stream the log to disk",
      "## snake_case and [a link](x.md) and **bold**",
      "## Notes",
      "## Notes",
      "```sh",
      "# a shell comment, not a heading",
      "```",
    ].join("\n");
    expect([...headingAnchors(text)]).toEqual([
      "performance-make-bench",
      "governedenvironment-gymnasium-semantics",
      "policyreward-rewardconfig-and-friends",
      "long-runs-stream-the-log-to-disk",
      "snake_case-and-a-link-and-bold",
      "notes",
      "notes-1",
    ]);
  });
});

describe("fences and links", () => {
  it("reads a fence's language and attributes, and a longer fence holds a shorter one", () => {
    const text = ["````md", "```ts example=inner", "````", "", "```sh example=run exit=2", "policy-kernel eval", "```"].join("\n");
    const found = fences(text);
    expect(found.map((f) => [f.lang, Object.fromEntries(f.attrs)])).toEqual([
      ["md", {}],
      ["sh", { example: "run", exit: "2" }],
    ]);
    expect(found[1]!.body).toBe("policy-kernel eval");
  });

  it("finds links and images outside code, with their line", () => {
    const text = ["See [a](a.md#x) and ![b](b.png).", "`[not](c.md)`", "```", "[not](d.md)", "```", "[ref]: e.md"].join("\n");
    expect(links(text)).toEqual([
      { target: "a.md#x", line: 1 },
      { target: "b.png", line: 1 },
      { target: "e.md", line: 6 },
    ]);
  });
});

describe("brokenLinks and unreachablePages", () => {
  const root = site({
    "README.md": "[guide](docs/guide.md#setup) [gone](docs/gone.md) [bad anchor](docs/guide.md#nope) [web](https://example.com/x)\n[docs](docs/)",
    "docs/README.md": "# Index\n",
    "docs/guide.md": "# Guide\n## Setup\n[back](../README.md) [self](#guide) [up and out](../../elsewhere.md)\n",
    "docs/orphan.md": "# Nobody links here\n",
  });
  const pages = docPages(root);

  it("names a missing file, a missing anchor and a link out of the repository, and nothing else", () => {
    expect(brokenLinks(root, pages)).toEqual([
      "README.md:1 → docs/gone.md: no file docs/gone.md",
      "README.md:1 → docs/guide.md#nope: docs/guide.md has no heading with anchor #nope",
      "docs/guide.md:3 → ../../elsewhere.md: no file ../elsewhere.md",
    ]);
  });

  it("names the page no link reaches (a folder link reaches its README.md)", () => {
    expect(unreachablePages(root, pages, "README.md")).toEqual(["docs/orphan.md"]);
  });
});
