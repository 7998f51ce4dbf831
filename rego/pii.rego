# PII in outgoing messages: e-mail addresses, US SSNs and card numbers in
# action.text. Blocks when the recipient is outside the internal domains,
# warns otherwise. Descriptions name the kinds found, never the values.
package policies.pii

needs_config := true

config := data.policy_kernel.config.pii

# A match may not touch another digit on either side (RE2 has no look-around,
# hence the explicit boundary groups).
before := `(?:^|[^0-9])`

after := `(?:$|[^0-9])`

patterns := {
	"email": `(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}`,
	"ssn": concat("", [before, `[0-9]{3}-[0-9]{2}-[0-9]{4}`, after]),
	# 13-16 digits: contiguous, 4-4-4-(1..4) groups, or Amex-style 4-6-5.
	"card_number": concat("", [
		before,
		`(?:[0-9]{13,16}|[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{1,4}|[0-9]{4}[ -][0-9]{6}[ -][0-9]{5})`,
		after,
	]),
}

text := input.action.text if is_string(input.action.text)

found := {kind | some kind, pattern in patterns; regex.match(pattern, text)}

# Domain after the last "@" of the recipient, lower-case; "" when there is none.
recipient_domain := lower(trim_right(trim_space(parts[count(parts) - 1]), ">")) if {
	parts := split(trim_space(input.action.to), "@")
	count(parts) > 1
} else := ""

internal_domains := {lower(trim_space(d)) | some d in config.internal_domains; trim_space(d) != ""}

recipient_internal if recipient_domain in internal_domains

recipient_internal if {
	some d in internal_domains
	endswith(recipient_domain, concat("", [".", d]))
}

kinds_label := concat(", ", sort(found))

violations contains v if {
	input.action.type == "message"
	count(found) > 0
	not recipient_internal
	v := {
		"policy": "pii",
		"rule": "external_recipient",
		"severity": "high",
		"effect": "block",
		"description": concat("", ["message to external ", domain_label, " contains PII: ", kinds_label]),
	}
}

violations contains v if {
	input.action.type == "message"
	count(found) > 0
	recipient_internal
	v := {
		"policy": "pii",
		"rule": "internal_recipient",
		"severity": "low",
		"effect": "warn",
		"description": concat("", ["message to internal domain ", json.marshal(recipient_domain), " contains PII: ", kinds_label]),
	}
}

domain_label := concat("", ["domain ", json.marshal(recipient_domain)]) if recipient_domain != ""

domain_label := "recipient without a domain" if recipient_domain == ""
