import type { MessageFacts, PiiKind } from "../schemas.js";
import { addPiiKinds } from "./pii-text.js";
import { parseRecipients } from "./recipients.js";

/**
 * Keys of a message body that name recipients, compared without case, `-` or `_` (so `Cc`,
 * `reply-to` and `reply_to` are recipient fields too: a mailer may honour any of them).
 */
const RECIPIENT_KEYS: ReadonlySet<string> = new Set(["to", "cc", "bcc", "replyto"]);
/** Fields that, when present, must be strings (a mailer sends them as text). */
const STRING_FIELDS: ReadonlySet<string> = new Set(["text", "subject", "html"]);
/** How deep and how many values of a body are scanned; past either the facts are withheld (fail closed). */
export const MAX_BODY_DEPTH = 32;
export const MAX_BODY_VALUES = 100_000;

const isRecipientKey = (key: string): boolean => RECIPIENT_KEYS.has(key.toLowerCase().replace(/[-_]/g, ""));

/** A recipient field's addresses: a string or an array of strings, else undefined. */
function recipientStrings(value: unknown): string[] | undefined {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as string[];
  return undefined;
}

/**
 * Scans every string (and number, and object key) under `value` for PII; false when the body is
 * deeper or larger than the bounds, or holds something that is not JSON.
 */
function scanValue(value: unknown, depth: number, budget: { left: number }, found: Set<PiiKind>): boolean {
  budget.left -= 1;
  if (budget.left < 0 || depth > MAX_BODY_DEPTH) return false;
  if (typeof value === "string") addPiiKinds(value, found);
  else if (typeof value === "number") addPiiKinds(String(value), found);
  else if (typeof value === "boolean" || value === null) return true;
  else if (Array.isArray(value)) {
    for (const item of value) if (!scanValue(item, depth + 1, budget, found)) return false;
  } else if (typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      addPiiKinds(key, found);
      if (!scanValue(item, depth + 1, budget, found)) return false;
    }
  } else return false; // undefined, bigint, function, symbol: not a JSON value
  return true;
}

/**
 * Facts of a `message` body: the domains of every recipient (`to`, `cc`, `bcc`, `replyTo` in
 * any spelling), whether some recipient field is unparseable, and the kinds of PII in every other
 * field, however deep. Undefined (the pii policy then fails closed) when `to` or `text` is not a
 * string, `subject`/`html` is present and not a string, a recipient field is neither a string nor
 * an array of strings, or the body is past the depth or size bounds.
 */
export function messageFacts(body: Readonly<Record<string, unknown>>): MessageFacts | undefined {
  if (typeof body["to"] !== "string" || typeof body["text"] !== "string") return undefined;
  const fields: string[] = [];
  const found = new Set<PiiKind>();
  const budget = { left: MAX_BODY_VALUES };
  for (const [key, value] of Object.entries(body)) {
    if (isRecipientKey(key)) {
      const strings = recipientStrings(value);
      if (strings === undefined) return undefined;
      // An empty optional field (`cc: ""`) names nobody; `to` is required and judged as given.
      fields.push(...(key === "to" ? strings : strings.filter((s) => s.trim() !== "")));
      continue;
    }
    if (STRING_FIELDS.has(key) && typeof value !== "string") return undefined;
    if (key === "type") continue; // "message": the schema's literal, nothing to scan
    if (!STRING_FIELDS.has(key)) addPiiKinds(key, found);
    if (!scanValue(value, 1, budget, found)) return undefined;
  }
  const recipients = parseRecipients(fields);
  // What the recipient sees of an address (display name, local part) carries SSNs and cards as well
  // as any field; an address in it is what the recipient field is for, not a finding.
  const shown = new Set<PiiKind>();
  for (const text of recipients.visibleText) addPiiKinds(text, shown);
  shown.delete("email");
  for (const kind of shown) found.add(kind);
  return {
    recipientDomains: recipients.domains,
    unparseableRecipient: recipients.unparseable,
    pii: [...found].sort(),
  };
}
