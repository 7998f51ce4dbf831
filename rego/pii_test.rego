package pii_test

import data.policies.pii

# A message as the kernel hands it over: the facts say where it goes and which
# kinds of PII it carries (detection itself is tested in TypeScript,
# test/kernel/message-facts.test.ts).
msg(domain, kinds) := {
	"agentId": "a1",
	"action": {"type": "message", "to": concat("@", ["someone", domain]), "text": "(text)"},
	"context": {},
	"facts": {"message": {"recipientDomain": domain, "pii": kinds}, "costUsdTotal": 0, "writes": false},
}

descriptions(vs) := {v.description | some v in vs}

rules(vs) := {v.rule | some v in vs}

test_no_pii_no_violation if {
	count(pii.violations) == 0 with input as msg("gmail.com", [])
}

test_pii_to_external_recipient_blocks if {
	vs := pii.violations with input as msg("gmail.com", ["email"])
	vs == {{
		"policy": "pii",
		"rule": "external_recipient",
		"severity": "high",
		"effect": "block",
		"description": `message to external domain "gmail.com" contains PII: email`,
	}}
}

test_pii_to_internal_recipient_warns if {
	vs := pii.violations with input as msg("example.com", ["ssn"])
	vs == {{
		"policy": "pii",
		"rule": "internal_recipient",
		"severity": "low",
		"effect": "warn",
		"description": `message to internal domain "example.com" contains PII: ssn`,
	}}
}

test_kinds_listed_sorted if {
	vs := pii.violations with input as msg("evil.test", ["ssn", "card_number", "email"])
	descriptions(vs) == {`message to external domain "evil.test" contains PII: card_number, email, ssn`}
}

test_subdomain_of_internal_domain_is_internal if {
	rules(pii.violations) == {"internal_recipient"} with input as msg("eu.mail.example.com", ["ssn"])
}

test_lookalike_domain_is_external if {
	rules(pii.violations) == {"external_recipient"} with input as msg("notexample.com", ["ssn"])
	rules(pii.violations) == {"external_recipient"} with input as msg("example.com.evil.test", ["ssn"])
}

test_recipient_without_domain_is_external if {
	vs := pii.violations with input as msg("", ["ssn"])
	descriptions(vs) == {"message to external recipient without a domain contains PII: ssn"}
}

test_internal_domains_from_config if {
	rules(pii.violations) == {"internal_recipient"} with input as msg("partner.test", ["ssn"])
		with data.policy_kernel.config.pii as {"internal_domains": ["Partner.test", " "]}
	rules(pii.violations) == {"external_recipient"} with input as msg("example.com", ["ssn"])
		with data.policy_kernel.config.pii as {"internal_domains": []}
}

test_missing_facts_fail_closed if {
	inp := {"agentId": "a1", "action": {"type": "message", "to": "x@gmail.com", "text": "hi"}, "context": {}, "facts": {"costUsdTotal": 0, "writes": false}}
	vs := pii.violations with input as inp
	vs == {{
		"policy": "pii",
		"rule": "missing_facts",
		"severity": "high",
		"effect": "block",
		"description": "no message facts in the policy input",
	}}
}

test_other_action_types_ignored if {
	inp := {"agentId": "a1", "action": {"type": "tool_call", "tool": "send", "text": "123-45-6789", "to": "x@gmail.com"}, "context": {}, "facts": {"costUsdTotal": 0, "writes": false}}
	count(pii.violations) == 0 with input as inp
}

# Prepared values (README): the kernel normalizes the internal domains once and
# hands them back at data.policy_kernel.prepared.pii; without it the policy does.
test_prepare_normalizes_internal_domains if {
	pii.prepare == {"internal_domains": ["partner.test"], "internal_suffixes": [".partner.test"]} with data.policy_kernel.config.pii as {"internal_domains": [" Partner.TEST ", " "]}
	pii.prepared == pii.prepare
}

test_prepared_internal_domains_are_read_when_given if {
	prepared := {"internal_domains": ["partner.test"], "internal_suffixes": [".partner.test"]}
	rules(pii.violations) == {"internal_recipient"} with input as msg("eu.partner.test", ["ssn"])
		with data.policy_kernel.prepared.pii as prepared
	rules(pii.violations) == {"external_recipient"} with input as msg("example.com", ["ssn"])
		with data.policy_kernel.prepared.pii as prepared
}
