import { existsSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { docPages, headingAnchors, links } from "../helpers/markdown.js";

/**
 * The documentation's links hold: every relative link in README.md and docs/**\/*.md names a file that
 * exists, every #anchor a heading of its page (GitHub's slugs), and every page is reachable from the
 * README by following links. External http(s) and mailto links are not fetched.
 */
const root = join(import.meta.dirname, "..", "..");
const pages = docPages(root);
const byPath = new Map(pages.map((p) => [p.path, p]));
const anchorsOf = new Map(pages.map((p) => [p.path, headingAnchors(p.text)]));
const external = /^[a-z][a-z0-9+.-]*:/i;

/** The repository-relative file a link points at (the page itself for a bare #anchor), and its anchor. */
function resolve(page: string, target: string): { file: string; anchor: string | undefined } {
  const [path, anchor] = target.split("#", 2) as [string, string | undefined];
  const file = path === "" ? page : normalize(join(dirname(page), decodeURIComponent(path))).replace(/\/$/, "");
  return { file, anchor: anchor === undefined || anchor === "" ? undefined : decodeURIComponent(anchor) };
}

describe("documentation links", () => {
  it("finds pages and links to check", () => {
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.flatMap((p) => links(p.text)).length).toBeGreaterThan(20);
  });

  for (const page of pages) {
    it(`${page.path}: every relative link resolves, every anchor names a heading`, () => {
      const broken: string[] = [];
      for (const link of links(page.text)) {
        if (external.test(link.target)) continue;
        const { file, anchor } = resolve(page.path, link.target);
        const at = `${page.path}:${link.line} → ${link.target}`;
        if (file.startsWith("..") || !existsSync(join(root, file))) {
          broken.push(`${at}: no file ${file}`);
          continue;
        }
        if (anchor === undefined) continue;
        const anchors = anchorsOf.get(file);
        if (anchors === undefined) broken.push(`${at}: an anchor into ${file}, which is not a checked markdown page`);
        else if (!anchors.has(anchor)) broken.push(`${at}: ${file} has no heading with anchor #${anchor}`);
      }
      expect(broken).toEqual([]);
    });
  }

  it("reaches every page from README.md", () => {
    const reached = new Set(["README.md"]);
    const queue = ["README.md"];
    while (queue.length > 0) {
      const page = queue.shift()!;
      for (const link of links(byPath.get(page)!.text)) {
        if (external.test(link.target)) continue;
        let { file } = resolve(page, link.target);
        // A link to a folder shows its README.md on GitHub.
        if (existsSync(join(root, file)) && statSync(join(root, file)).isDirectory()) file = join(file, "README.md");
        if (byPath.has(file) && !reached.has(file)) {
          reached.add(file);
          queue.push(file);
        }
      }
    }
    expect(pages.map((p) => p.path).filter((p) => !reached.has(p)), "pages no link from the README leads to").toEqual([]);
  });
});
