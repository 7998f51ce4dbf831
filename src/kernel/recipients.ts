import { domainToASCII } from "node:url";
import emailAddresses from "email-addresses";

/** Where a message goes, as the pii policy judges it. */
export interface Recipients {
  /** The domain of every recipient address, ASCII (IDNA) lower-case, sorted, unique. */
  readonly domains: string[];
  /** Some recipient field could not be read as an RFC 5322 address list: judged external. */
  readonly unparseable: boolean;
  /** Display names and local parts: text the recipient sees, scanned for SSNs and card numbers. */
  readonly visibleText: string[];
}

/** C0 and C1 controls and DEL: CR/LF header injection (`\r\nCc: ...`) and anything like it. */
const CONTROL = /\p{Cc}/u;
/** Characters a domain may hold before IDNA mapping: letters, digits, marks, hyphens, dots. */
const DOMAIN_INPUT = /^[\p{L}\p{N}\p{M}.-]+$/u;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const LDH_ASCII = /^[a-z0-9.-]+$/;

/**
 * The domain mail to `domain` is delivered to, as ASCII, or undefined when it is not a host name.
 * IDNA maps full-width and case variants onto the domain they reach (`ｅｘａｍｐｌｅ.com` is
 * example.com) and look-alikes onto their own punycode (`exаmple.com` is xn--exmple-4nf.com).
 * Domain literals (`[1.2.3.4]`), numeric hosts and anything WHATWG would cut (`?`, `/`, `%`) are
 * refused rather than guessed at.
 */
export function deliveryDomain(domain: string): string | undefined {
  // Lower-case ASCII without punycode is its own IDNA mapping: skip the (costlier) mapper.
  const lower = domain.toLowerCase();
  const ascii = LDH_ASCII.test(lower) && !lower.includes("xn--") ? lower : DOMAIN_INPUT.test(domain) ? domainToASCII(domain) : "";
  if (ascii === "" || ascii.length > 253) return undefined;
  const labels = ascii.split(".");
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) return undefined;
  if (/^(?:[0-9]+|0x[0-9a-f]*)$/.test(labels[labels.length - 1] ?? "")) return undefined; // an IPv4 address, as WHATWG reads one
  return ascii;
}

type Parsed = emailAddresses.ParsedMailbox | emailAddresses.ParsedGroup;

/**
 * Adds one recipient field's domains and visible text (only when the whole field reads); false
 * when the field is not an RFC 5322 address list whose every mailbox has a deliverable domain. An '@' the parser does not count as
 * an address's own (in a display name, a comment, an obsolete source route such as
 * `<@attacker.io:ops@example.com>`) makes the field ambiguous, hence unparseable: a mailer that
 * reads it less strictly could send there.
 */
function addField(field: string, domains: Set<string>, visibleText: string[]): boolean {
  if (CONTROL.test(field)) return false;
  const plain = plainAddresses(field);
  if (plain !== undefined) return addPlain(plain, domains, visibleText);
  let parsed: Parsed[] | null;
  try {
    parsed = emailAddresses.parseAddressList({ input: field, rfc6532: true });
  } catch {
    return false; // the parser recurses: thousands of nested comments overflow its stack
  }
  if (parsed === null || parsed.length === 0) return false;
  const fieldDomains: string[] = [];
  const fieldText: string[] = [];
  let ownAts = 0;
  for (const entry of parsed) {
    const members = entry.type === "group" ? entry.addresses : [entry];
    if (entry.type === "group") {
      if (members.length === 0) return false; // `undisclosed:;` names nobody the policy can judge
      fieldText.push(entry.name);
    }
    for (const mailbox of members) {
      const domain = deliveryDomain(mailbox.domain);
      if (domain === undefined) return false;
      fieldDomains.push(domain);
      ownAts += mailbox.local.split("@").length;
      if (mailbox.name !== null) fieldText.push(mailbox.name);
      fieldText.push(mailbox.local);
    }
  }
  if (field.split("@").length - 1 !== ownAts) return false;
  for (const domain of fieldDomains) domains.add(domain);
  visibleText.push(...fieldText);
  return true;
}

/**
 * How many characters of recipient fields a message may have in all (about a hundred addresses).
 * The address parser takes some 20 us a character, so past this the recipients are not parsed but
 * judged unparseable, hence external: bounded work, failing closed.
 */
export const MAX_RECIPIENT_CHARS = 4096;

/**
 * A bare RFC 5322 addr-spec: dot-atom `@` dot-atom, ASCII. The parser reads such an address the same
 * way (tested), at a hundredth of the cost; each class excludes the dot, so matching is linear.
 */
const PLAIN_ADDRESS = /^([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$/;

/** `field` as [local, domain] pairs when it is a comma list of bare addresses, else undefined (the parser decides). */
export function plainAddresses(field: string): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  for (const part of field.split(",")) {
    const match = PLAIN_ADDRESS.exec(part.trim());
    if (match === null) return undefined;
    pairs.push([match[1] ?? "", match[2] ?? ""]);
  }
  return pairs;
}

function addPlain(pairs: readonly [string, string][], domains: Set<string>, visibleText: string[]): boolean {
  const fieldDomains: string[] = [];
  for (const [, domain] of pairs) {
    const ascii = deliveryDomain(domain);
    if (ascii === undefined) return false;
    fieldDomains.push(ascii);
  }
  for (const domain of fieldDomains) domains.add(domain);
  for (const [local] of pairs) visibleText.push(local);
  return true;
}

/** The recipients of a message's recipient fields (each an RFC 5322 address list). */
export function parseRecipients(fields: readonly string[]): Recipients {
  const domains = new Set<string>();
  const visibleText: string[] = [];
  if (fields.reduce((total, field) => total + field.length, 0) > MAX_RECIPIENT_CHARS) return { domains: [], unparseable: true, visibleText };
  let unparseable = false;
  for (const field of fields) if (!addField(field, domains, visibleText)) unparseable = true;
  return { domains: [...domains].sort(), unparseable, visibleText };
}

/** Every recipient of `fields` is at `internal` or one of its subdomains (the pii policy's rule). */
export function allInternal(recipients: Pick<Recipients, "domains" | "unparseable">, internal: readonly string[]): boolean {
  if (recipients.unparseable || recipients.domains.length === 0) return false;
  return recipients.domains.every((domain) => internal.some((d) => domain === d || domain.endsWith(`.${d}`)));
}
