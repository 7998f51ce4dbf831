import emailAddresses from "email-addresses";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_RECIPIENT_CHARS, allInternal, deliveryDomain, parseRecipients, plainAddresses } from "../../src/kernel/recipients.js";

describe("parseRecipients", () => {
  it.each([
    // one address, names, case, groups
    [["someone@gmail.com"], ["gmail.com"], false],
    [["  Ops <OPS@Example.com> "], ["example.com"], false],
    [["Ops Team <ops@eu.example.com>, billing@example.com"], ["eu.example.com", "example.com"], false],
    [["Team: a@example.com, b@evil.io;"], ["evil.io", "example.com"], false],
    [["ops(comment)@example.com"], ["example.com"], false],
    [['"a\\"b"@example.com'], ["example.com"], false],
    // every field counts; duplicates collapse, sorted
    [["ops@example.com", "evil@attacker.io", "OPS@EXAMPLE.COM"], ["attacker.io", "example.com"], false],
    // IDNA: full-width maps onto the ASCII domain, look-alikes onto their own punycode
    [["ops@ｅｘａｍｐｌｅ.com"], ["example.com"], false],
    [["ops@exаmple.com"], ["xn--exmple-4nf.com"], false],
    [["ops@exämple.com"], ["xn--exmple-cua.com"], false],
    // list tricks and header injection: unparseable
    [["evil@attacker.io, ops@example.com"], ["attacker.io", "example.com"], false],
    [["ops@example.com; evil@attacker.io"], [], true],
    [["ops@example.com\r\nCc: evil@attacker.io"], [], true],
    [["ops@example.com\nBcc: evil@attacker.io"], [], true],
    [["ops@example.com\u0000"], [], true],
    [["ops@example.com?cc=evil@attacker.io"], [], true],
    [["mailto:ops@example.com"], [], true],
    [["undisclosed-recipients:;"], [], true],
    [["#general"], [], true],
    [["bob"], [], true],
    [[" "], [], true],
    [["ops@example.com,"], [], true],
    [["ops@example.com."], [], true],
    [["ops@[10.0.0.1]"], [], true],
    [["ops@10.0.0.1"], [], true],
    [["ops@localhost"], [], true],
    [["ops@exa_mple.com"], [], true],
    // an '@' the parser does not count as an address's own: ambiguous, so unparseable
    [["<@attacker.io:ops@example.com>"], [], true],
    [['"evil@attacker.io" <ops@example.com>'], [], true],
    [["ops@example.com (evil@attacker.io)"], [], true],
    // one bad field spoils the message, the good ones still count
    [["ops@example.com", "garbage"], ["example.com"], true],
  ])("%j -> %j, unparseable %j", (fields, domains, unparseable) => {
    const recipients = parseRecipients(fields);
    expect(recipients.domains).toEqual(domains);
    expect(recipients.unparseable).toBe(unparseable);
  });

  it("hands back display names and local parts as the text a recipient sees", () => {
    expect(parseRecipients(['"SSN 123-45-6789" <x@evil.io>, Team: y@evil.io;']).visibleText).toEqual(["SSN 123-45-6789", "x", "Team", "y"]);
  });
});

describe("deliveryDomain", () => {
  it.each([
    ["Example.COM", "example.com"],
    ["ｅｘａｍｐｌｅ.com", "example.com"],
    ["example.com?cc=x", undefined],
    ["example.com/x", undefined],
    ["example.com%2f", undefined],
    ["ex\u200bample.com", undefined],
    ["0x7f.1", undefined],
    ["-bad.com", undefined],
    ["a..b", undefined],
    ["example", undefined],
    ["example.0x7f", undefined],
    ["xn--zz.com", undefined],
    ["xn--exmple-cua.com", "xn--exmple-cua.com"],
    ["exämple.com", "xn--exmple-cua.com"],
  ])("%j -> %j", (domain, ascii) => {
    expect(deliveryDomain(domain)).toBe(ascii);
  });
});

describe("allInternal", () => {
  const internal = ["example.com"];
  it.each([
    ["ops@example.com", true],
    ["ops@eu.mail.example.com", true],
    ["ops@example.com, billing@eu.example.com", true],
    ["ops@example.com, evil@attacker.io", false],
    ["ops@example.com.evil.io", false],
    ["ops@evil-example.com", false],
    ["ops@notexample.com", false],
    ["ops@exаmple.com", false],
    ["ops@example.com.", false],
    ["garbage", false],
  ])("%j -> %j", (to, expected) => {
    expect(allInternal(parseRecipients([to]), internal)).toBe(expected);
  });
  it("is false without recipients", () => {
    expect(allInternal({ domains: [], unparseable: false }, internal)).toBe(false);
  });
});

describe("bounded work", () => {
  it("judges recipient fields past MAX_RECIPIENT_CHARS unparseable without parsing them", () => {
    const many = Array.from({ length: 300 }, (_, i) => `user${i}@example.com`).join(", ");
    expect(many.length).toBeGreaterThan(MAX_RECIPIENT_CHARS);
    expect(parseRecipients([many])).toEqual({ domains: [], unparseable: true, visibleText: [] });
    const atTheCap = `"${"a".repeat(MAX_RECIPIENT_CHARS - '"" <ops@example.com>'.length)}" <ops@example.com>`;
    expect(atTheCap.length).toBe(MAX_RECIPIENT_CHARS);
    expect(parseRecipients([atTheCap])).toMatchObject({ domains: ["example.com"], unparseable: false });
  });

  it("judges a field that overflows the parser's stack unparseable", () => {
    expect(parseRecipients([`${"(".repeat(2000)}ops@example.com`])).toMatchObject({ domains: [], unparseable: true });
  });
});

describe("the bare-address fast path", () => {
  it("reads every list it accepts as the RFC 5322 parser does", () => {
    const atom = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,6}$/);
    const label = fc.stringMatching(/^[A-Za-z0-9-]{1,6}$/);
    const address = fc
      .tuple(fc.array(atom, { minLength: 1, maxLength: 3 }), fc.array(label, { minLength: 2, maxLength: 3 }), fc.constantFrom("", " ", "  "))
      .map(([local, domain, pad]) => `${pad}${local.join(".")}@${domain.join(".")}${pad}`);
    const noise = fc.constantFrom("", ".", "..", "@", " ", "<", ";", "(x)", "\"q\"", "é");
    const field = fc.tuple(fc.array(address, { minLength: 1, maxLength: 3 }), noise, fc.nat(20)).map(([list, extra, at]) => {
      const text = list.join(",");
      const cut = at % (text.length + 1);
      return `${text.slice(0, cut)}${extra}${text.slice(cut)}`;
    });
    let fast = 0;
    fc.assert(
      fc.property(field, (input) => {
        const pairs = plainAddresses(input);
        if (pairs === undefined) return;
        fast += 1;
        const parsed = emailAddresses.parseAddressList({ input, rfc6532: true });
        expect(parsed, input).not.toBeNull();
        expect(parsed?.map((m) => (m.type === "mailbox" ? [m.local, m.domain] : m.name)), input).toEqual(pairs);
      }),
      { numRuns: 3000, seed: 5322 },
    );
    expect(fast).toBeGreaterThan(500);
  });
});
