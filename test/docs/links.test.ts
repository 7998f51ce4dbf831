import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { brokenLinks, docPages, links, unreachablePages } from "../helpers/markdown.js";

/**
 * The documentation's links hold: every relative link in README.md and docs/**\/*.md names a file that
 * exists, every #anchor a heading of its page (GitHub's slugs), and every page is reachable from the
 * README by following links. External http(s) and mailto links are not fetched.
 */
const root = join(import.meta.dirname, "..", "..");
const pages = docPages(root);

describe("documentation links", () => {
  it("finds pages and links to check", () => {
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.flatMap((p) => links(p.text)).length).toBeGreaterThan(20);
  });

  for (const page of pages) {
    it(`${page.path}: every relative link resolves, every anchor names a heading`, () => {
      expect(brokenLinks(root, pages).filter((line) => line.startsWith(`${page.path}:`))).toEqual([]);
    });
  }

  it("reaches every page from README.md", () => {
    expect(unreachablePages(root, pages, "README.md"), "pages no link from the README leads to").toEqual([]);
  });
});
