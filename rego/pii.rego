# PII in outgoing messages. The kernel finds e-mail addresses, US SSNs and card
# numbers in action.text and the recipient's domain in action.to
# (input.facts.message; OPA's Wasm runtime would recompile each regex on every
# evaluation). Blocks when the recipient is outside the internal domains, warns
# otherwise. Descriptions name the kinds found, never the values.
package policies.pii

needs_config := true

config := data.policy_kernel.config.pii

found := input.facts.message.pii

recipient_domain := input.facts.message.recipientDomain

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

recipient_internal if recipient_domain in prepared.internal_domains

recipient_internal if {
	some suffix in prepared.internal_suffixes
	endswith(recipient_domain, suffix)
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

# No facts means the enrichment step did not run: fail closed. (A helper, because
# OPA hoists an undefined argument out of `not is_array(...)`.)
has_facts if is_array(found)

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

domain_label := concat("", ["domain ", json.marshal(recipient_domain)]) if recipient_domain != ""

domain_label := "recipient without a domain" if recipient_domain == ""
