# PII in outgoing messages. The kernel parses the recipients (to, cc, bcc,
# replyTo: RFC 5322 address lists, domains IDNA-mapped) and finds e-mail
# addresses, US SSNs and card numbers in every other field of the message after
# normalising the text (input.facts.message; OPA's Wasm runtime would recompile
# each regex on every evaluation). Blocks when any recipient is outside the
# internal domains or could not be parsed, warns otherwise. Descriptions name the
# kinds found, never the values.
package policies.pii

needs_config := true

config := data.policy_kernel.config.pii

found := input.facts.message.pii

recipient_domains := input.facts.message.recipientDomains

# What depends on the data alone, evaluated once per kernel (README: "Prepared values").
# METADATA
# entrypoint: true
prepare := {
	"internal_domains": internal_domains,
	# A subdomain of an internal domain is internal too.
	"internal_suffixes": [concat("", [".", d]) | some d in internal_domains],
}

internal_domains := [lower(trim_space(d)) | some d in config.internal_domains; trim_space(d) != ""]

# The kernel's copy of prepare, else (opa eval, opa test, another host) computed here.
prepared := kept if {
	kept := data.policy_kernel.prepared.pii
} else := prepare

internal_domain(domain) if domain in prepared.internal_domains

internal_domain(domain) if {
	some suffix in prepared.internal_suffixes
	endswith(domain, suffix)
}

external_domains := [d | some d in recipient_domains; not internal_domain(d)]

# Internal only when every recipient parsed (the flag is false, not missing) and
# every domain is internal: one outside recipient makes the message external.
recipient_internal if {
	input.facts.message.unparseableRecipient == false
	count(recipient_domains) > 0
	count(external_domains) == 0
}

kinds_label := concat(", ", sort(found))

violations contains v if {
	input.action.type == "message"
	has_facts
	count(found) > 0
	not recipient_internal
	v := {
		"policy": "pii",
		"rule": "external_recipient",
		"severity": "high",
		"effect": "block",
		"description": concat("", ["message to external ", external_label, " contains PII: ", kinds_label]),
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
		"description": concat("", ["message to internal ", domains_label(recipient_domains), " contains PII: ", kinds_label]),
	}
}

# No facts (or facts of another shape) means the enrichment step did not run:
# fail closed. (A helper, because OPA hoists an undefined argument out of
# `not is_array(...)`.)
has_facts if {
	is_array(found)
	is_array(recipient_domains)
	is_boolean(input.facts.message.unparseableRecipient)
}

violations contains v if {
	input.action.type == "message"
	not has_facts
	v := {
		"policy": "pii",
		"rule": "missing_facts",
		"severity": "high",
		"effect": "block",
		"description": "no message facts in the policy input",
	}
}

domains_label(domains) := concat("", ["domain ", json.marshal(domains[0])]) if count(domains) == 1

domains_label(domains) := concat("", ["domains ", concat(", ", [json.marshal(d) | some d in domains])]) if count(domains) > 1

unparseable_label := ["an unparseable recipient"] if {
	input.facts.message.unparseableRecipient == true
} else := []

external_parts := array.concat([domains_label(external_domains) | count(external_domains) > 0], unparseable_label)

external_label := concat(" and ", external_parts) if count(external_parts) > 0

external_label := "recipient without a domain" if count(external_parts) == 0
