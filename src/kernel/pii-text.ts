import type { PiiKind } from "../schemas.js";

// PII detection over agent-controlled text. Every pass is a single left-to-right scan (or a
// regular expression without nested quantifiers) with bounded look-around, so the work is
// linear in the text's length: no pattern here can backtrack over the whole input.

/**
 * Characters that render as nothing (zero-width spaces and joiners, bidi controls, soft
 * hyphens, variation selectors, combining marks): removed so `123\u200b-45-6789` is read as
 * the reader of the message sees it.
 */
const INVISIBLE_ONE = /^[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Mn}\p{Me}]$/u;
/** Decimal digits of any script that NFKC leaves alone (Arabic-Indic, Devanagari, Thai...). */
const DIGIT_ONE = /^\p{Nd}$/u;
const DIGIT_VALUES = new Map<number, string>();

/**
 * The ASCII digit of a Unicode decimal digit. Unicode keeps every script's digits in one
 * contiguous run from 0 to 9 (a stability guarantee of General_Category=Nd), so the value is
 * the distance from the start of the run, modulo 10 for scripts with several runs side by side.
 */
function asciiDigit(char: string): string {
  const code = char.codePointAt(0) as number;
  const cached = DIGIT_VALUES.get(code);
  if (cached !== undefined) return cached;
  let zero = code;
  while (zero > 0 && /\p{Nd}/u.test(String.fromCodePoint(zero - 1))) zero -= 1;
  const digit = String((code - zero) % 10);
  DIGIT_VALUES.set(code, digit);
  return digit;
}

/** Text NFKC, the invisible characters and other scripts' digits leave alone. */
const ASCII_ONLY = /^[^\u0080-\uffff]*$/;
/** HTML tags (bounded, so a stray `<` costs at most 512 characters of look-ahead). */
const HTML_TAG = /<\/?[a-z][^<>]{0,512}>/gi;
/** HTML character references: decimal, hexadecimal, and the named ones that can format a number or address. */
const HTML_REFERENCE = /&(?:#([0-9]{1,7})|#x([0-9a-f]{1,6})|([a-z]{2,8}));/gi;
const NAMED_REFERENCES: Readonly<Record<string, string>> = {
  nbsp: " ", ensp: " ", emsp: " ", thinsp: " ", hairsp: " ", numsp: " ", puncsp: " ", nobreak: "",
  ndash: "\u2013", mdash: "\u2014", minus: "\u2212", hyphen: "-", dash: "-", period: ".", sol: "/",
  commat: "@", amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", shy: "", zwsp: "", zwj: "", zwnj: "", lrm: "", rlm: "",
};

function decodeReference(match: string, decimal?: string, hex?: string, name?: string): string {
  const code = decimal !== undefined ? Number(decimal) : hex !== undefined ? Number.parseInt(hex, 16) : -1;
  if (code >= 0) return code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : match;
  return NAMED_REFERENCES[(name ?? "").toLowerCase()] ?? match;
}

/**
 * The text as detection reads it, close to what its reader sees: HTML tags removed and
 * character references decoded (`4111&nbsp;1111`, `&#64;`), NFKC (full-width forms,
 * superscripts and circled digits to ASCII), invisible characters removed, every decimal digit
 * as an ASCII digit.
 */
export function normalizeForDetection(text: string): string {
  // Each step is skipped when it cannot change the text: most messages are plain ASCII.
  let visible = text.includes("<") ? text.replace(HTML_TAG, "") : text;
  if (visible.includes("&")) visible = visible.replace(HTML_REFERENCE, decodeReference);
  if (ASCII_ONLY.test(visible)) return visible;
  return dropInvisiblesMapDigits(visible.normalize("NFKC"));
}

/** For each BMP code unit: REMOVE, KEEP, or the value of the decimal digit it is. */
const KEEP = -1;
const REMOVE = -2;
let bmpTable: Int8Array | undefined;

/** Built on the first text that is not plain ASCII (some 20 ms once), then read per character. */
function bmp(): Int8Array {
  if (bmpTable) return bmpTable;
  const table = new Int8Array(0x10000).fill(KEEP);
  for (let code = 0x80; code < 0x10000; code += 1) {
    if (code >= 0xd800 && code <= 0xdfff) continue; // surrogates: read in pairs
    const char = String.fromCharCode(code);
    if (INVISIBLE_ONE.test(char)) table[code] = REMOVE;
    else if (DIGIT_ONE.test(char)) table[code] = Number(asciiDigit(char));
  }
  bmpTable = table;
  return table;
}

/**
 * Invisible characters removed and decimal digits as ASCII, in one pass into a buffer (a
 * replace with a callback per digit took seconds and hundreds of MB on 10 MB of Arabic digits).
 * A lone surrogate, which no detector reads, comes out as U+FFFD.
 */
function dropInvisiblesMapDigits(text: string): string {
  const table = bmp();
  const out = new Uint16Array(text.length);
  let n = 0;
  let changed = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x80) {
      out[n++] = code;
      continue;
    }
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A supplementary character (Osmanya or Brahmi digits, tag characters): rare, read by regex.
      const char = String.fromCodePoint(text.codePointAt(i) ?? code);
      if (INVISIBLE_ONE.test(char)) changed = true;
      else if (DIGIT_ONE.test(char)) {
        out[n++] = asciiDigit(char).charCodeAt(0);
        changed = true;
      } else for (let k = 0; k < char.length; k += 1) out[n++] = char.charCodeAt(k);
      i += char.length - 1;
      continue;
    }
    const value = table[code] ?? KEEP;
    if (value === KEEP) out[n++] = code;
    else {
      if (value !== REMOVE) out[n++] = 48 + value;
      changed = true;
    }
  }
  return changed ? UTF16.decode(out.subarray(0, n)) : text;
}

const UTF16 = new TextDecoder("utf-16le");

// ---------------------------------------------------------------- digit runs: SSNs and cards

const isDigit = (code: number): boolean => code >= 48 && code <= 57;
/**
 * What may stand between digit groups: spaces of any kind, dots, dashes, minus signs, slashes.
 * Not tabs and line breaks: they end a number, so the cells of a table are not read as one.
 */
const NON_ASCII_SEPARATOR = /^[\p{Zs}\p{Pd}\u00b7\u2022\u2027\u2043\u2212\u2215\u2044\u30fb]$/u;
/** The most separator characters between two groups of one number (`123 - 45 - 6789`). */
const MAX_SEPARATOR = 3;

/** A lookup table of the ASCII characters in `chars`. */
function asciiTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i += 1) table[chars.charCodeAt(i)] = 1;
  return table;
}
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const ASCII_SEPARATORS = asciiTable(" .-/\\_");

function isSeparator(code: number): boolean {
  if (code < 128) return ASCII_SEPARATORS[code] === 1;
  return NON_ASCII_SEPARATOR.test(String.fromCharCode(code));
}

/** A label that makes a bare run of nine digits an SSN: `SSN`, `S.S.N.`, `social security`. */
const SSN_LABEL = /(?<![a-z])(?:s\.?s\.?n(?![a-z])|social[\s._-]{0,3}security)/giu;
/** How far a labelled number may stand from its label (`SSN (primary holder): 123456789`). */
const LABEL_REACH = 32;

/** The ends of every SSN label in `text`, ascending. */
function ssnLabelEnds(text: string): number[] {
  const ends: number[] = [];
  for (const match of text.matchAll(SSN_LABEL)) ends.push(match.index + match[0].length);
  return ends;
}

/** A valid SSN: not area 000, 666 or 9xx, not group 00, not serial 0000 (SSA rules). */
export function isValidSsn(digits: string): boolean {
  if (digits.length !== 9) return false;
  const area = digits.slice(0, 3);
  return area !== "000" && area !== "666" && area[0] !== "9" && digits.slice(3, 5) !== "00" && digits.slice(5) !== "0000";
}

/** The Luhn checksum of a digit string holds. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i -= 1, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Issuer ranges as [first prefix, last prefix, shortest, longest]; prefixes compare as numbers of their own length. */
const ISSUERS: readonly (readonly [string, string, number, number])[] = [
  ["4", "4", 13, 19], // Visa (13, 16, 19 in practice)
  ["51", "55", 16, 16], // Mastercard
  ["2221", "2720", 16, 16], // Mastercard 2-series
  ["34", "34", 15, 15], // American Express
  ["37", "37", 15, 15],
  ["6011", "6011", 16, 19], // Discover
  ["644", "649", 16, 19],
  ["65", "65", 16, 19],
  ["3528", "3589", 16, 19], // JCB
  ["300", "305", 14, 19], // Diners Club
  ["3095", "3095", 14, 19],
  ["36", "36", 14, 19],
  ["38", "39", 14, 19],
  ["62", "62", 16, 19], // UnionPay (and Discover's co-branded 622126-622925)
  ["2200", "2204", 16, 19], // Mir
  ["5018", "5018", 13, 19], // Maestro
  ["5020", "5020", 13, 19],
  ["5038", "5038", 13, 19],
  ["5893", "5893", 13, 19],
  ["6304", "6304", 13, 19],
  ["6759", "6759", 13, 19],
  ["6761", "6763", 13, 19],
];

/** The digits start with an issuer's prefix and have a length that issuer uses. */
export function plausibleIssuer(digits: string): boolean {
  return ISSUERS.some(([first, last, shortest, longest]) => {
    if (digits.length < shortest || digits.length > longest) return false;
    const prefix = digits.slice(0, first.length);
    return prefix >= first && prefix <= last;
  });
}

const MIN_CARD = 13;
const MAX_CARD = 19;

/** A separator that is one dash or minus sign: `123-45-6789` is an SSN wherever it stands in a run. */
const ONE_DASH = /^[\p{Pd}\u2212]$/u;

/** Separators read alike: dashes and minus signs are one kind, spaces another (`123 - 45 – 6789`). */
function separatorKind(sep: string): string {
  return sep.replace(/[\p{Pd}\u2212]/gu, "-").replace(/\p{Zs}/gu, " ").trim() || " ";
}

/**
 * The two separators of an SSN are of one kind: `123-45-6789`, `123 45 6789`, not `100.01 1000`
 * (an amount and the next number).
 */
function sameSeparator(a: string, b: string): boolean {
  return a === b || separatorKind(a) === separatorKind(b);
}

/**
 * The group lengths of a card as people write one: all digits together, 4-4-4-(1..4), 4-4-4-4-(1..3), Amex 4-6-5,
 * Diners 4-6-4, or one digit per group. Any other grouping (a table of amounts or counts) is not
 * read as a card, whatever its Luhn sum.
 */
function cardShaped(lengths: readonly number[]): boolean {
  const k = lengths.length;
  const last = lengths[k - 1] ?? 0;
  if (k === 1 || lengths.every((n) => n === 1)) return true;
  if (lengths[0] !== 4) return false;
  if (k === 3 && lengths[1] === 6 && (last === 5 || last === 4)) return true;
  return k >= 4 && k <= 5 && lengths.slice(1, k - 1).every((n) => n === 4) && last >= 1 && last <= 4;
}

/** The most groups a card can span (one digit per group), plus the group after it that one check reads. */
const LOOKAHEAD = MAX_CARD + 1;

/**
 * Which of ssn and card_number start at group `g` of a run: `groups` are its digit groups, `seps`
 * the separator before each (`seps[0]` is ""). A number of several groups is looked for where a
 * segment of the run starts (its first group, or a group whose separators before and after
 * differ), so a table of numbers is not read as cards and SSNs at every cell; a single group of
 * 13-19 digits anywhere. Reads groups g-1 to g+20 only, and tries at most 7 card lengths.
 */
function classifyAt(groups: readonly string[], seps: readonly string[], g: number, found: Set<PiiKind>): void {
  const size = (index: number): number => groups[index]?.length ?? -1;
  const segmentStart = seps[g] === "" || seps[g] !== seps[g + 1];
  // SSN: three groups of 3, 2 and 4 digits.
  if (
    size(g) === 3 &&
    size(g + 1) === 2 &&
    size(g + 2) === 4 &&
    sameSeparator(seps[g + 1] ?? "", seps[g + 2] ?? "") &&
    (segmentStart || ONE_DASH.test(seps[g + 1] ?? "")) &&
    isValidSsn(`${groups[g]}${groups[g + 1]}${groups[g + 2]}`)
  ) {
    found.add("ssn");
  }
  // Card: whole groups of 13-19 digits in a card's grouping (an expiry or CVV may follow).
  // Every issuer's prefix starts with 2 to 6: other starts are skipped without a look.
  const first = groups[g]?.charCodeAt(0) ?? 0;
  if (found.has("card_number") || first < 50 || first > 54) return;
  // A grouped card starts a segment or follows a group of another length (`ref 12 4111 1111 ...`),
  // and four groups of 4 are not followed by a fifth: in a row of 4-digit numbers, cells are not cards.
  const groupedStart = segmentStart || size(g - 1) !== size(g);
  const lengths: number[] = [];
  let digits = "";
  for (let e = g; e < groups.length && digits.length + size(e) <= MAX_CARD; e += 1) {
    lengths.push(size(e));
    digits += groups[e];
    if (lengths.length > 1 && !groupedStart) break;
    if (digits.length < MIN_CARD || !cardShaped(lengths)) continue;
    if (lengths.length === 4 && lengths.every((n) => n === 4) && size(e + 1) === 4) continue;
    if (luhnValid(digits) && plausibleIssuer(digits)) found.add("card_number");
  }
}

/**
 * SSNs and card numbers in normalised text, added to `found`. A run of digit groups is classified
 * as it is read, keeping at most a few dozen groups: a run of millions of groups costs no memory.
 */
function findNumbers(text: string, found: Set<PiiKind>): void {
  let labels: number[] | undefined; // found on the first run of nine digits: most texts have none
  let nextLabel = 0;
  let lastLabelEnd = -Infinity;
  let i = 0;
  while (i < text.length) {
    if (!isDigit(text.charCodeAt(i))) {
      i += 1;
      continue;
    }
    const runStart = i;
    let groups: string[] = [];
    let seps: string[] = [];
    let next = 0; // the next group to classify
    let length = 0;
    let sep = "";
    for (;;) {
      let j = i;
      while (j < text.length && isDigit(text.charCodeAt(j))) j += 1;
      groups.push(text.slice(i, j));
      seps.push(sep);
      length += j - i;
      if (groups.length > 4 * LOOKAHEAD) {
        // Classify what has its lookahead, keep one group of context before the next start.
        for (; next < groups.length - LOOKAHEAD; next += 1) classifyAt(groups, seps, next, found);
        groups = groups.slice(next - 1);
        seps = seps.slice(next - 1);
        next = 1;
      }
      let k = j;
      while (k < text.length && k - j < MAX_SEPARATOR && isSeparator(text.charCodeAt(k))) k += 1;
      i = j;
      if (k === j || k >= text.length || !isDigit(text.charCodeAt(k))) break;
      sep = text.slice(j, k);
      i = k;
    }
    for (; next < groups.length; next += 1) classifyAt(groups, seps, next, found);
    // Nine digits in any grouping are an SSN after a label (looked for once, on the first such run).
    const digits = length === 9 ? groups.join("") : "";
    if (length === 9 && !found.has("ssn") && isValidSsn(digits)) {
      labels ??= ssnLabelEnds(text);
      while (nextLabel < labels.length && (labels[nextLabel] ?? Infinity) <= runStart) lastLabelEnd = labels[nextLabel++] ?? lastLabelEnd;
      if (runStart - lastLabelEnd <= LABEL_REACH) found.add("ssn");
    }
    if (found.has("ssn") && found.has("card_number")) return;
  }
}

// ---------------------------------------------------------------- e-mail addresses

const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;
const LOCAL_ASCII = asciiTable(`${ALNUM}._%+'-`);
const DOMAIN_ASCII = asciiTable(`${ALNUM}.-`);
const WORD_NON_ASCII = /^[\p{L}\p{N}]$/u;
const TLD = /^(?:\p{L}{2,63}|xn--[a-z0-9-]{1,59})$/iu;
/** Users of forge remotes (`git@github.com:acme/app.git`, `ssh://git@host/...`): hosts, not people. */
const SERVICE_USERS = new Set(["git", "hg"]);
/** `logo@2x.png`: an image-density suffix, not an address. */
const DENSITY_ASSET = /^[0-9]+x\.(?:png|jpe?g|gif|webp|svg|avif)$/i;

function isWordChar(text: string, index: number, ascii: Uint8Array): boolean {
  const code = text.charCodeAt(index);
  if (code < 128) return ascii[code] === 1;
  return WORD_NON_ASCII.test(String.fromCodePoint(text.codePointAt(index) ?? 0));
}

/** A host name of two labels or more, each non-empty without an edge hyphen, ending in a top-level domain of letters. */
function isMailDomain(domain: string): boolean {
  const labels = domain.split(".");
  if (labels.length < 2) return false;
  for (const label of labels) if (label === "" || label.startsWith("-") || label.endsWith("-")) return false;
  return TLD.test(labels[labels.length - 1] ?? "");
}

/** The e-mail address around the `@` at `at`, judged on at most 64 characters left and 253 right. */
function isAddressAt(text: string, at: number): boolean {
  let left = at;
  while (left > 0 && at - left < MAX_LOCAL && isWordChar(text, left - 1, LOCAL_ASCII)) left -= 1;
  if (left === at) return false;
  let right = at + 1;
  let dots = 0;
  for (; right < text.length && right - at - 1 < MAX_DOMAIN && isWordChar(text, right, DOMAIN_ASCII); right += 1) {
    if (text.charCodeAt(right) === 46) dots += 1;
  }
  if (dots === 0) return false; // the common case of a stray '@', decided without a copy
  const local = text.slice(left, at).replace(/^\.+/, "");
  if (local === "") return false;
  const domain = text.slice(at + 1, right).replace(/\.+$/, "");
  if (!isMailDomain(domain) || DENSITY_ASSET.test(domain)) return false;
  if (SERVICE_USERS.has(local)) {
    const after = text.slice(at + 1 + domain.length, at + domain.length + 3);
    // scp-style remote (`git@host:path`) or URL user info (`ssh://git@host/path`).
    if (/^:[^\s]/.test(after) || text.slice(Math.max(0, left - 3), left) === "://") return false;
  }
  return true;
}

/** There is an e-mail address in normalised text. */
function hasAddress(text: string): boolean {
  for (let at = text.indexOf("@"); at >= 0; at = text.indexOf("@", at + 1)) if (isAddressAt(text, at)) return true;
  return false;
}

// ---------------------------------------------------------------- together

/** The kinds of personal data in `text` (after normalisation), added to `found`. */
export function addPiiKinds(text: string, found: Set<PiiKind>): void {
  const normal = normalizeForDetection(text);
  if (!found.has("email") && hasAddress(normal)) found.add("email");
  if (!found.has("ssn") || !found.has("card_number")) findNumbers(normal, found);
}

/** The kinds of personal data found in `text`, sorted; values are never copied. */
export function piiKinds(text: string): PiiKind[] {
  const found = new Set<PiiKind>();
  addPiiKinds(text, found);
  return [...found].sort();
}
