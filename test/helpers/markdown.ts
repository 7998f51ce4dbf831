import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

/** One documentation page: its path relative to the repository root, and its text. */
export interface DocPage {
  path: string;
  text: string;
}

/** A fenced code block: its language, its `key=value` attributes, its body and the lines it spans. */
export interface Fence {
  lang: string;
  attrs: Map<string, string>;
  body: string;
  /** 0-based line of the opening fence. */
  start: number;
  /** 0-based line of the closing fence. */
  end: number;
}

/** A link target written in a page, with the 1-based line it is on. */
export interface Link {
  target: string;
  line: number;
}

/**
 * README.md and every docs/**\/*.md page, sorted. docs/api/ is left out: it is the TypeDoc output
 * `make docs` generates, not prose anyone writes.
 */
export function docPages(root: string): DocPage[] {
  const paths = ["README.md", ...markdownUnder(root, "docs")];
  return paths.map((path) => ({ path, text: readFileSync(join(root, path), "utf8") }));
}

function markdownUnder(root: string, dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && path !== join("docs", "api")) found.push(...markdownUnder(root, path));
    else if (entry.isFile() && entry.name.endsWith(".md")) found.push(relative(root, join(root, path)));
  }
  return found.sort();
}

const OPEN = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)(.*)$/;

/** The fenced code blocks of a page, in order (CommonMark: a fence closes on a run of at least its length). */
export function fences(text: string): Fence[] {
  const lines = text.split("\n");
  const found: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i]!);
    if (!open) continue;
    const marker = open[1]!;
    const close = new RegExp(`^ {0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !close.test(lines[end]!)) end++;
    const attrs = new Map<string, string>();
    for (const m of open[3]!.matchAll(/([\w-]+)=([\w-]+)/g)) attrs.set(m[1]!, m[2]!);
    found.push({ lang: open[2]!.toLowerCase(), attrs, body: lines.slice(i + 1, end).join("\n"), start: i, end });
    i = end;
  }
  return found;
}

/** The page's lines outside fenced code blocks, each with its 0-based index. */
function proseLines(text: string): Array<[number, string]> {
  const inFence = new Set<number>();
  for (const fence of fences(text)) for (let i = fence.start; i <= fence.end; i++) inFence.add(i);
  return text.split("\n").flatMap((line, i): Array<[number, string]> => (inFence.has(i) ? [] : [[i, line]]));
}

/** Inline code spans hold link-like text that is not a link (`[x](y)` shown as code). */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)[\s\S]*?\1/g, "");
}

/** Every inline link, image and reference-link definition target of a page, outside code. */
export function links(text: string): Link[] {
  const found: Link[] = [];
  for (const [i, raw] of proseLines(text)) {
    const line = withoutCodeSpans(raw);
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) found.push({ target: m[1]!, line: i + 1 });
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(line);
    if (definition) found.push({ target: definition[1]!, line: i + 1 });
  }
  return found;
}

/**
 * The anchors GitHub gives the page's headings (github-slugger's rules): the rendered text lower-cased,
 * punctuation and symbols dropped (letters, digits, `_`, `-` and spaces stay), spaces turned into `-`,
 * and a repeated slug suffixed `-1`, `-2`, ….
 */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, line] of proseLines(text)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const rendered = heading[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, "")
      .replace(/[`*]/g, "");
    const base = rendered.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

/** The repository-relative file a link points at (the page itself for a bare #anchor), and its anchor. */
function resolveLink(page: string, target: string): { file: string; anchor: string | undefined } {
  const [path, anchor] = target.split("#", 2) as [string, string | undefined];
  const file = path === "" ? page : normalize(join(dirname(page), decodeURIComponent(path))).replace(/\/$/, "");
  return { file, anchor: anchor === undefined || anchor === "" ? undefined : decodeURIComponent(anchor) };
}

/**
 * Every relative link of the pages that names no existing file, or an anchor that is no heading of its
 * page, as `page:line → target: why`. External links (http:, https:, mailto:) are not fetched.
 */
export function brokenLinks(root: string, pages: readonly DocPage[]): string[] {
  const anchorsOf = new Map(pages.map((p) => [p.path, headingAnchors(p.text)]));
  const broken: string[] = [];
  for (const page of pages) {
    for (const link of links(page.text)) {
      if (EXTERNAL.test(link.target)) continue;
      const { file, anchor } = resolveLink(page.path, link.target);
      const at = `${page.path}:${link.line} → ${link.target}`;
      if (file.startsWith("..") || !existsSync(join(root, file))) broken.push(`${at}: no file ${file}`);
      else if (anchor === undefined) continue;
      else if (!anchorsOf.has(file)) broken.push(`${at}: an anchor into ${file}, which is not a checked markdown page`);
      else if (!anchorsOf.get(file)!.has(anchor)) broken.push(`${at}: ${file} has no heading with anchor #${anchor}`);
    }
  }
  return broken;
}

/** The pages no chain of relative links from `start` reaches (a link to a folder opens its README.md). */
export function unreachablePages(root: string, pages: readonly DocPage[], start: string): string[] {
  const byPath = new Map(pages.map((p) => [p.path, p]));
  const reached = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    const page = queue.shift()!;
    for (const link of links(byPath.get(page)?.text ?? "")) {
      if (EXTERNAL.test(link.target)) continue;
      let { file } = resolveLink(page, link.target);
      if (existsSync(join(root, file)) && statSync(join(root, file)).isDirectory()) file = join(file, "README.md");
      if (byPath.has(file) && !reached.has(file)) {
        reached.add(file);
        queue.push(file);
      }
    }
  }
  return pages.map((p) => p.path).filter((p) => !reached.has(p));
}
