import { describe, expect, it } from "vitest";
import { MAX_BODY_DEPTH, MAX_BODY_VALUES, messageFacts } from "../../src/kernel/message-facts.js";
import { MessageFactsSchema } from "../../src/schemas.js";

const body = (fields: Record<string, unknown>) => ({ type: "message", to: "ops@example.com", text: "hello", ...fields });

describe("messageFacts", () => {
  it("gives the recipients' domains and the kinds, never the values", () => {
    const facts = messageFacts(body({ to: "Eve <eve@Evil.Test>", text: "card 4111 1111 1111 1111" }));
    expect(facts).toEqual({ recipientDomains: ["evil.test"], unparseableRecipient: false, pii: ["card_number"] });
    expect(MessageFactsSchema.parse(facts)).toEqual(facts);
    expect(JSON.stringify(facts)).not.toContain("4111");
  });

  it.each([
    ["cc", { cc: "evil@attacker.io" }],
    ["bcc as an array", { bcc: ["ops@example.com", "evil@attacker.io"] }],
    ["replyTo", { replyTo: "evil@attacker.io" }],
    ["reply_to", { reply_to: ["evil@attacker.io"] }],
    ["Cc in another case", { Cc: "evil@attacker.io" }],
    ["reply-to spelled as a header", { "Reply-To": "evil@attacker.io" }],
  ])("reads recipients from %s", (_name, fields) => {
    expect(messageFacts(body(fields))).toEqual({ recipientDomains: ["attacker.io", "example.com"], unparseableRecipient: false, pii: [] });
  });

  it("does not scan recipient fields as text, and ignores an empty optional one", () => {
    expect(messageFacts(body({ cc: "", bcc: [] }))).toEqual({ recipientDomains: ["example.com"], unparseableRecipient: false, pii: [] });
  });

  it("flags an unparseable recipient in any recipient field", () => {
    expect(messageFacts(body({ cc: "ops@example.com\r\nBcc: evil@attacker.io" }))).toEqual({
      recipientDomains: ["example.com"],
      unparseableRecipient: true,
      pii: [],
    });
  });

  it("scans what the recipient sees of an address for SSNs and cards", () => {
    expect(messageFacts(body({ to: '"123-45-6789" <x@evil.io>' }))?.pii).toEqual(["ssn"]);
    expect(messageFacts(body({ to: "4111111111111111@evil.io" }))?.pii).toEqual(["card_number"]);
  });

  it.each([
    ["subject", { subject: "SSN 123-45-6789" }, ["ssn"]],
    ["html", { html: "<p><b>4111</b>&nbsp;1111 1111&#32;1111</p>" }, ["card_number"]],
    ["html without PII", { html: "<p>Order <b>1000234598761234</b> shipped</p>" }, []],
    ["attachments[].content", { attachments: [{ name: "a.txt", content: "bob@corp.io" }] }, ["email"]],
    ["an unknown field", { body2: "123.45.6789" }, ["ssn"]],
    ["a deep field", { meta: { a: [{ b: { c: "４１１１ １１１１ １１１１ １１１１" } }] } }, ["card_number"]],
    ["a number", { ref: 4111111111111111 }, ["card_number"]],
    ["an object key", { meta: { "123-45-6789": true } }, ["ssn"]],
    ["a top-level key", { "bob@corp.io": null }, ["email"]],
    ["booleans and nulls", { flag: true, none: null }, []],
  ])("scans %s", (_name, fields, kinds) => {
    expect(messageFacts(body(fields))?.pii).toEqual(kinds);
  });

  it.each([
    ["to not a string", { to: ["ops@example.com"] }],
    ["text not a string", { text: 123456789 }],
    ["text missing", { text: undefined }],
    ["subject not a string", { subject: ["123-45-6789"] }],
    ["html not a string", { html: { toString: "x" } }],
    ["cc a number", { cc: 42 }],
    ["bcc an array with a non-string", { bcc: ["ops@example.com", null] }],
    ["replyTo an object", { replyTo: { address: "evil@attacker.io" } }],
    ["a function", { extra: () => "x" }],
    ["a bigint", { extra: 10n }],
  ])("withholds the facts (the policy fails closed) when %s", (_name, fields) => {
    expect(messageFacts(body(fields))).toBeUndefined();
  });

  it("withholds the facts past the depth and size bounds", () => {
    let deep: unknown = "x";
    for (let i = 0; i < MAX_BODY_DEPTH + 1; i += 1) deep = [deep];
    expect(messageFacts(body({ deep }))).toBeUndefined();
    let shallow: unknown = "x";
    for (let i = 0; i < MAX_BODY_DEPTH - 2; i += 1) shallow = [shallow];
    expect(messageFacts(body({ shallow }))).toBeDefined();
    expect(messageFacts(body({ wide: new Array(MAX_BODY_VALUES).fill(0) }))).toBeUndefined();
    expect(messageFacts(body({ wide: new Array(MAX_BODY_VALUES - 10).fill(0) }))).toBeDefined();
  });

  it("decides a 5 MB message with an address at its end (linear scan)", () => {
    const text = `${"a@".repeat(2 * 1024 * 1024)} 1 2 3 ${"9".repeat(1024 * 1024)} bob@example.com`;
    expect(messageFacts(body({ to: "evil@attacker.io", text }))).toEqual({ recipientDomains: ["attacker.io"], unparseableRecipient: false, pii: ["email"] });
  });
});
