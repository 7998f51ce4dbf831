import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { PII_PATTERNS, messageFacts, piiKinds, recipientDomain } from "../../src/kernel/message-facts.js";
import { opaPath } from "../helpers/opa.js";

describe("piiKinds", () => {
  it.each([
    // e-mail
    ["contact: first.last+tag@sub.example.co.uk", ["email"]],
    ["UPPER@CASE.ORG", ["email"]],
    ["not an address: a@b, @handle, x@localhost", []],
    // SSN: exactly 3-2-4 digits, not touching another digit
    ["123-45-6789", ["ssn"]],
    ["ssn:123-45-6789.", ["ssn"]],
    ["id-123-45-6789", ["ssn"]],
    ["9-123-45-6789", ["ssn"]],
    ["1123-45-6789", []],
    ["123-45-67890", []],
    ["123-456-7890", []],
    ["123456789", []],
    // cards: 13-16 contiguous digits
    ["4111111111111", ["card_number"]],
    ["card 4111111111111111 exp 12/30", ["card_number"]],
    ["card 4111111111111111 123", ["card_number"]],
    ["411111111111", []],
    ["41111111111111111", []],
    // cards: grouped 4-4-4-(1..4) or Amex 4-6-5
    ["4111 1111 1111 1111", ["card_number"]],
    ["4111-1111-1111-1111", ["card_number"]],
    ["4111 1111 1111 1", ["card_number"]],
    ["amex 3782-822463-10005.", ["card_number"]],
    ["(4111 1111 1111 1111)", ["card_number"]],
    ["4111 1111 1111 1111 123", ["card_number"]],
    ["4111  1111  1111  1111", []],
    ["4111 1111 1111 11112", []],
    ["41 11 11 11 11 11 11 11", []],
    ["phone +1 415-555-0100, order 2026-11-21", []],
    // several kinds, sorted by name
    ["card 4111 1111 1111 1111, ssn 123-45-6789, mail bob@x.io", ["card_number", "email", "ssn"]],
    ["The meeting moved to 10:30, room 4.", []],
  ])("%j -> %j", (text, kinds) => {
    expect(piiKinds(text)).toEqual(kinds);
  });

  it("agrees with RE2 (OPA's regex.match) on generated texts", () => {
    // Texts built from what the patterns care about: digit runs of every length near the
    // boundaries, separators, e-mail pieces, and Unicode case-folding traps (Kelvin sign, long s).
    const digits = fc.integer({ min: 1, max: 17 }).chain((n) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`)));
    const piece = fc.oneof(digits, fc.constantFrom(" ", "-", "  ", ".", "@", ":", "(", "x", "ab", "Z", "co", "\u212a", "\u017f", "_+%"));
    const texts = fc.sample(fc.array(piece, { maxLength: 9 }).map((pieces) => pieces.join("")), { numRuns: 3000, seed: 2026 });
    texts.push(...["4111 1111 1111 1111", "a@b.co", "123-45-6789", "x@\u212a.io", "\u017f@x.io"]);
    const patterns = Object.fromEntries(
      Object.entries(PII_PATTERNS).map(([kind, re]) => [kind, (re.flags.includes("i") ? "(?i)" : "") + re.source]),
    );
    const query = "[sort([k | some k, p in input.patterns; regex.match(p, t)]) | some t in input.texts]";
    const out = execFileSync(opaPath(), ["eval", "--stdin-input", "--format", "raw", query], {
      input: JSON.stringify({ patterns, texts }),
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    const re2: string[][] = JSON.parse(out);
    const differences = texts.filter((text, i) => JSON.stringify(piiKinds(text)) !== JSON.stringify(re2[i]));
    expect(differences).toEqual([]);
    expect(re2.filter((kinds) => kinds.length > 0).length).toBeGreaterThan(100);
  });
});

describe("recipientDomain", () => {
  it.each([
    ["someone@gmail.com", "gmail.com"],
    ["  Ops <OPS@Example.com> ", "example.com"],
    ["a@b@Partner.Test", "partner.test"],
    ["#general", ""],
    ["trailing@", ""],
  ])("%j -> %j", (to, domain) => {
    expect(recipientDomain(to)).toBe(domain);
  });
});

describe("messageFacts", () => {
  it("gives the domain and the kinds, never the values", () => {
    const facts = messageFacts("eve@evil.test", "card 4111 1111 1111 1111");
    expect(facts).toEqual({ recipientDomain: "evil.test", pii: ["card_number"] });
    expect(JSON.stringify(facts)).not.toContain("4111");
  });
});
