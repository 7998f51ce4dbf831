package pii_test

import data.policies.pii

# A message as the kernel hands it over: the facts say where it goes (every
# recipient's domain, and whether some recipient could not be parsed) and which
# kinds of PII it carries (detection and parsing are tested in TypeScript,
# test/kernel/message-facts.test.ts and test/kernel/pii-corpus.test.ts).
msg(domain, kinds) := msg_to([domain], false, kinds)

msg_to(domains, unparseable, kinds) := {
	"agentId": "a1",
	"action": {"type": "message", "to": "(recipients)", "text": "(text)"},
	"context": {},
	"facts": {"message": {"recipientDomains": domains, "unparseableRecipient": unparseable, "pii": kinds}, "costUsdTotal": 0, "writes": false},
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
	vs := pii.violations with input as msg_to([], false, ["ssn"])
	descriptions(vs) == {"message to external recipient without a domain contains PII: ssn"}
}

test_one_external_recipient_makes_the_message_external if {
	vs := pii.violations with input as msg_to(["attacker.io", "eu.example.com", "example.com"], false, ["ssn"])
	vs == {{
		"policy": "pii",
		"rule": "external_recipient",
		"severity": "high",
		"effect": "block",
		"description": `message to external domain "attacker.io" contains PII: ssn`,
	}}
}

test_several_external_domains_are_named if {
	vs := pii.violations with input as msg_to(["a.test", "b.test", "example.com"], false, ["email"])
	descriptions(vs) == {`message to external domains "a.test", "b.test" contains PII: email`}
}

test_unparseable_recipient_is_external if {
	vs := pii.violations with input as msg_to(["example.com"], true, ["ssn"])
	descriptions(vs) == {"message to external an unparseable recipient contains PII: ssn"}
	vs2 := pii.violations with input as msg_to(["evil.test"], true, ["ssn"])
	descriptions(vs2) == {`message to external domain "evil.test" and an unparseable recipient contains PII: ssn`}
	rules(pii.violations) == {"external_recipient"} with input as msg_to([], true, ["ssn"])
}

test_several_internal_domains_warn if {
	vs := pii.violations with input as msg_to(["eu.example.com", "example.com"], false, ["card_number"])
	vs == {{
		"policy": "pii",
		"rule": "internal_recipient",
		"severity": "low",
		"effect": "warn",
		"description": `message to internal domains "eu.example.com", "example.com" contains PII: card_number`,
	}}
}

test_lookalikes_of_internal_domains_are_external if {
	rules(pii.violations) == {"external_recipient"} with input as msg("evil-example.com", ["ssn"])
	rules(pii.violations) == {"external_recipient"} with input as msg("xn--exmple-4nf.com", ["ssn"])
	rules(pii.violations) == {"external_recipient"} with input as msg("example.com.", ["ssn"])
}

test_facts_of_another_shape_fail_closed if {
	old := {"agentId": "a1", "action": {"type": "message", "to": "x@example.com", "text": "hi"}, "context": {}, "facts": {"message": {"recipientDomain": "example.com", "pii": ["ssn"]}, "costUsdTotal": 0, "writes": false}}
	rules(pii.violations) == {"missing_facts"} with input as old
	no_flag := {"agentId": "a1", "action": {"type": "message", "to": "x@example.com", "text": "hi"}, "context": {}, "facts": {"message": {"recipientDomains": ["example.com"], "pii": ["ssn"]}, "costUsdTotal": 0, "writes": false}}
	rules(pii.violations) == {"missing_facts"} with input as no_flag
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
