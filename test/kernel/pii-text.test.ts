import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isValidSsn, luhnValid, normalizeForDetection, piiKinds, plausibleIssuer } from "../../src/kernel/pii-text.js";

describe("normalizeForDetection", () => {
  it.each([
    ["full-width digits and dashes", "１２３－４５－６７８９", "123-45-6789"],
    ["Arabic-Indic digits", "\u0661\u0662\u0663-\u0664\u0665-\u0666\u0667\u0668\u0669", "123-45-6789"],
    ["Extended Arabic-Indic digits", "\u06f4\u06f1\u06f1\u06f1", "4111"],
    ["Devanagari digits", "\u0967\u0968\u0969", "123"],
    ["Bengali, Thai, Tibetan digits", "\u09ea\u0e51\u0f29", "419"],
    ["mathematical bold digits", "\u{1d7cf}\u{1d7d0}", "12"],
    ["zero-width space, joiner and word joiner", "12\u200b3\u200d-4\u20605", "123-45"],
    ["bidi controls", "\u202e123\u202c-\u206645\u2069", "123-45"],
    ["soft hyphen and combining marks", "1\u00ad2\u03013", "123"],
    ["full-width at sign and letters", "ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ", "bob@example.com"],
    ["no-break space", "123\u00a045", "123 45"],
    ["HTML tags and character references", "<b>123</b>&ndash;45&#8211;<i>6789</i> bob&#64;x&period;io &amp; &bogus; &#xD800;", "123\u201345\u20136789 bob@x.io & &bogus; &#xD800;"],
    ["a stray < is text", "a < b, 1<2", "a < b, 1<2"],
    ["plain ASCII unchanged", "order 42 shipped", "order 42 shipped"],
  ])("%s", (_name, text, normal) => {
    expect(normalizeForDetection(text)).toBe(normal);
  });

  it("maps every Unicode decimal digit to the ASCII digit of the same value", () => {
    // Every code point of General_Category Nd, grouped in its script's run of ten.
    const runs: number[] = [];
    for (let code = 0x80; code <= 0x1fbff; code += 1) {
      if (/\p{Nd}/u.test(String.fromCodePoint(code)) && !/\p{Nd}/u.test(String.fromCodePoint(code - 1))) runs.push(code);
    }
    expect(runs.length).toBeGreaterThan(50);
    for (const zero of runs) {
      const digits = Array.from({ length: 10 }, (_, i) => String.fromCodePoint(zero + i)).join("");
      expect(normalizeForDetection(digits), `digits from U+${zero.toString(16)}`).toBe("0123456789");
    }
  });
});

describe("checks", () => {
  it.each([
    ["123456789", true],
    ["000456789", false],
    ["666456789", false],
    ["900456789", false],
    ["123006789", false],
    ["123450000", false],
    ["12345678", false],
  ])("isValidSsn(%j) is %j", (digits, valid) => {
    expect(isValidSsn(digits)).toBe(valid);
  });

  it.each([
    ["4111111111111111", true],
    ["4111111111111112", false],
    ["378282246310005", true],
    ["0", true],
  ])("luhnValid(%j) is %j", (digits, valid) => {
    expect(luhnValid(digits)).toBe(valid);
  });

  it.each([
    ["4111111111111111", true],
    ["4222222222222", true],
    ["5555555555554444", true],
    ["2223000048400011", true],
    ["2721000000000000", false],
    ["378282246310005", true],
    ["3782822463100050", false],
    ["6011111111111117", true],
    ["3530111333300000", true],
    ["30569309025904", true],
    ["6200000000000005", true],
    ["1000234598761234", false],
    ["1732200000000", false],
    ["7000000000000000", false],
  ])("plausibleIssuer(%j) is %j", (digits, plausible) => {
    expect(plausibleIssuer(digits)).toBe(plausible);
  });
});

describe("piiKinds", () => {
  it.each([
    // e-mail
    ["contact: first.last+tag@sub.example.co.uk", ["email"]],
    ["UPPER@CASE.ORG", ["email"]],
    ["mailto:bob@example.com", ["email"]],
    ["full-width ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ", ["email"]],
    ["zero-width bob@exa\u200bmple.com", ["email"]],
    ["IDN josé@exämple.de", ["email"]],
    ["end of a sentence: bob@example.com.", ["email"]],
    ["bob@example.com: please call", ["email"]],
    ["not an address: a@b, @handle, x@localhost, a@b.c, a@1.2.3.4", []],
    ["git@github.com:acme/app.git", []],
    ["clone ssh://git@github.com/acme/app.git or hg@bitbucket.org:acme/app", []],
    ["assets logo@2x.png and icon@3x.webp", []],
    ["npm i @acme/app@1.2.3, pkg@latest", []],
    ["https://medium.com/@author/post", []],
    // SSN: 3-2-4 with any separator
    ["123-45-6789", ["ssn"]],
    ["123 45 6789", ["ssn"]],
    ["123.45.6789", ["ssn"]],
    ["123/45/6789", ["ssn"]],
    ["123\u201345\u20136789", ["ssn"]],
    ["123\u201445\u20146789", ["ssn"]],
    ["123\u221245\u22126789", ["ssn"]],
    ["123 - 45 - 6789", ["ssn"]],
    ["ssn:123-45-6789.", ["ssn"]],
    ["id-123-45-6789", ["ssn"]],
    ["9-123-45-6789", ["ssn"]],
    ["1123-45-6789", []],
    ["123-45-67890", []],
    ["123-456-7890", []],
    ["123    45    6789", []],
    ["123.45-6789", []],
    ["100.01 1000.00", []],
    ["123 - 45 \u2013 6789", ["ssn"]],
    ["x 1 123 45 6789", []],
    ["x 1-123-45-6789", ["ssn"]],
    // SSN: bare nine digits only with a label
    ["123456789", []],
    ["SSN 123456789", ["ssn"]],
    ["ssn#123456789", ["ssn"]],
    ["S.S.N.: 123 456 789", ["ssn"]],
    ["Social Security number: 123456789", ["ssn"]],
    ["social-security no. 123456789", ["ssn"]],
    ["lessn 123456789", []],
    // SSN: invalid areas, groups and serials
    ["000-45-6789 666-45-6789 900-45-6789 123-00-6789 123-45-0000", []],
    ["SSN 000456789", []],
    // cards: Luhn and issuer
    ["4111111111111", []],
    ["4222222222222", ["card_number"]],
    ["card 4111111111111111 exp 12/30", ["card_number"]],
    ["card 4111111111111111 123", ["card_number"]],
    ["4111 1111 1111 1111", ["card_number"]],
    ["4111-1111-1111-1111", ["card_number"]],
    ["4111.1111.1111.1111", ["card_number"]],
    ["4111\u20131111\u20131111\u20131111", ["card_number"]],
    ["4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", ["card_number"]],
    ["amex 3782-822463-10005.", ["card_number"]],
    ["(5555 5555 5555 4444)", ["card_number"]],
    ["4111 1111 1111 1111 123", ["card_number"]],
    ["4111  1111  1111  1111", ["card_number"]],
    ["ref 12 4111 1111 1111 1111", ["card_number"]],
    ["9 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", []],
    ["2345 3456 4567 5678 6789 7890", []],
    ["4111 1111 1111 1111 2030", []],
    ["4111 1111 1111 1111 12/30", ["card_number"]],
    ["41 11 11 11 11 11 11 11", []],
    ["4111111111111112", []],
    ["order 1000234598761234", []],
    ["at 1732200000000 ms", []],
    ["41111111111111110000", []],
    ["phone +1 415-555-0100, order 2026-11-21", []],
    // several kinds, sorted by name
    ["card 4111 1111 1111 1111, ssn 123-45-6789, mail bob@x.io", ["card_number", "email", "ssn"]],
    ["The meeting moved to 10:30, room 4.", []],
  ])("%j -> %j", (text, kinds) => {
    expect(piiKinds(text)).toEqual(kinds);
  });

  it("finds a formatted SSN or card inside any text, and never reports values", () => {
    const ssnShapes = ["123-45-6789", "123 45 6789", "１２３－４５－６７８９", "123\u201345\u20136789"];
    fc.assert(
      fc.property(fc.constantFrom(...ssnShapes), fc.stringMatching(/^[a-z ,:]{0,20}$/), fc.stringMatching(/^[a-z ,:]{0,20}$/), (ssn, before, after) => {
        expect(piiKinds(`${before} ${ssn} ${after}`)).toContain("ssn");
      }),
      { numRuns: 300, seed: 19 },
    );
  });
});

describe("formatting does not change what is found", () => {
  // Texts built from what detection cares about: digit groups, separators, address pieces, labels.
  const piece = fc.oneof(
    fc.integer({ min: 0, max: 9999 }).map(String),
    fc.constantFrom("123-45-6789", "4111 1111 1111 1111", "3782 822463 10005", "bob@corp.io", "git@github.com:a/b.git", "SSN", " ", "-", ".", "/", "@", ":", "x", "card "),
  );
  const texts = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(" "));
  const fullWidth = (text: string) => text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).replace(/ /g, "\u3000");
  const arabicIndic = (text: string) => text.replace(/[0-9]/g, (d) => String.fromCharCode(0x0660 + Number(d)));

  it("is the same in full-width forms, Arabic-Indic digits, and with zero-width and bidi characters inserted", () => {
    fc.assert(
      fc.property(texts, fc.array(fc.nat(), { maxLength: 6 }), fc.constantFrom("\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u00ad"), (text, cuts, invisible) => {
        const kinds = piiKinds(text);
        expect(piiKinds(fullWidth(text)), "full-width").toEqual(kinds);
        expect(piiKinds(arabicIndic(text)).filter((k) => k !== "email"), "Arabic-Indic").toEqual(kinds.filter((k) => k !== "email"));
        let spiked = text;
        for (const cut of cuts) {
          const at = cut % (spiked.length + 1);
          spiked = spiked.slice(0, at) + invisible + spiked.slice(at);
        }
        expect(piiKinds(spiked), "invisible characters").toEqual(kinds);
      }),
      { numRuns: 1500, seed: 2026 },
    );
  });
});

describe("tables of numbers are not cards or SSNs", () => {
  const table = (cell: fc.Arbitrary<string>, columns: string, rows: string) =>
    fc.array(fc.array(cell, { minLength: 2, maxLength: 8 }), { minLength: 1, maxLength: 12 }).map((t) => t.map((row) => row.join(columns)).join(rows));
  const small = fc.integer({ min: 0, max: 999 }).map(String);
  const any4 = fc.integer({ min: 0, max: 9999 }).map(String);
  const money = fc.integer({ min: 0, max: 9_999_999 }).map((cents) => (cents / 100).toFixed(2));
  it.each([
    ["tab-separated cells of up to 4 digits", table(any4, "\t", "\n")],
    ["space-separated counts of up to 3 digits", table(small, " ", "\n")],
    ["amounts with decimals", table(money, " ", "\n")],
    ["amounts with decimals on one line", table(money, " ", " ")],
  ])("%s", (_name, tables) => {
    fc.assert(
      fc.property(tables, (text) => {
        expect(piiKinds(text)).toEqual([]);
      }),
      { numRuns: 1000, seed: 7 },
    );
  });

  it("ends a number at a tab or line break (a card split that way is not found, docs/pii.md)", () => {
    expect(piiKinds("4111\t1111\t1111\t1111")).toEqual([]);
    expect(piiKinds("123\n45\n6789")).toEqual([]);
  });
});

describe("long runs of digit groups (classified as they are read)", () => {
  it("finds a card or SSN at any position of a long run, across the points where the run is flushed", () => {
    for (let n = 0; n < 130; n += 1) {
      expect(piiKinds(`${"9 ".repeat(n)}4111 1111 1111 1111 ${"9 ".repeat(n % 7)}`), `card after ${n} groups`).toEqual(["card_number"]);
      expect(piiKinds(`${"1-".repeat(n)}123-45-6789${"-1".repeat(n % 5)}`), `SSN after ${n} groups`).toEqual(["ssn"]);
      expect(piiKinds(`${"2345 ".repeat(n)}4111 1111 1111 1111`), `no card after ${n} 4-digit groups (docs/pii.md)`).toEqual(n === 0 ? ["card_number"] : []);
    }
  });
});

describe("linear time on adversarial input (a quadratic scan would time out)", () => {
  const MB = 1024 * 1024;
  it.each([
    ["'a@' repeated", "a@".repeat(2 * MB), []],
    ["'a.' then one '@'", `${"a.".repeat(MB)}@${"b.".repeat(MB)}`, []],
    ["a long digit run", "4".repeat(3 * MB), []],
    ["digits and spaces", "1 ".repeat(2 * MB), []],
    ["3-2-4 lookalikes", "1234-56-78901 ".repeat(200_000), []],
    ["SSN labels without numbers", "ssn social security ".repeat(150_000), []],
    ["zero-width characters", "\u200b".repeat(2 * MB), []],
    ["unclosed HTML tags", "<a ".repeat(MB), []],
    ["HTML references", "&#52;&nbsp;".repeat(400_000), ["card_number"]],
    ["an address at the end of 4 MB", `${"x ".repeat(2 * MB)}bob@example.com`, ["email"]],
    ["a card after 3 MB of digit groups", `${"12 ".repeat(MB)} x 4111 1111 1111 1111`, ["card_number"]],
  ])("%s", (_name, text, kinds) => {
    expect(piiKinds(text)).toEqual(kinds);
  });
});
