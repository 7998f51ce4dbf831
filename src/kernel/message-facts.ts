import type { MessageFacts, PiiKind } from "../schemas.js";

// A match may not touch another digit on either side (the boundary groups keep the
// patterns free of look-behind, so they mean the same in RE2 if a policy reuses them).
const BEFORE = "(?:^|[^0-9])";
const AFTER = "(?:$|[^0-9])";

/**
 * What counts as personal data in an outgoing message, by kind (sorted by name, so the
 * facts list comes out sorted). Detection lives here rather than in Rego because OPA's
 * Wasm runtime recompiles every regex on every evaluation: three patterns cost more
 * than all other default policies together.
 */
export const PII_PATTERNS: Readonly<Record<PiiKind, RegExp>> = {
  // 13-16 digits: contiguous, 4-4-4-(1..4) groups, or Amex-style 4-6-5.
  card_number: new RegExp(
    `${BEFORE}(?:[0-9]{13,16}|[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{1,4}|[0-9]{4}[ -][0-9]{6}[ -][0-9]{5})${AFTER}`,
  ),
  // u: Unicode case folding, as RE2 (?i) does (the Kelvin sign K matches k).
  email: /[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/iu,
  ssn: new RegExp(`${BEFORE}[0-9]{3}-[0-9]{2}-[0-9]{4}${AFTER}`),
};

const PII_KINDS = Object.keys(PII_PATTERNS) as PiiKind[];

/** The kinds of personal data found in `text`, sorted; values are never copied. */
export function piiKinds(text: string): PiiKind[] {
  const found: PiiKind[] = [];
  for (const kind of PII_KINDS) if (PII_PATTERNS[kind].test(text)) found.push(kind);
  return found;
}

/**
 * The domain after the last "@" of a recipient, lower-case, without surrounding space or a
 * closing ">" ("Ops <OPS@Example.com>" -> "example.com"); "" when there is no "@".
 */
export function recipientDomain(to: string): string {
  const at = to.lastIndexOf("@");
  if (at < 0) return "";
  return to.slice(at + 1).trim().replace(/>+$/, "").toLowerCase();
}

/** Facts of a `message` action: where it goes and which kinds of personal data it carries. */
export function messageFacts(to: string, text: string): MessageFacts {
  return { recipientDomain: recipientDomain(to), pii: piiKinds(text) };
}
