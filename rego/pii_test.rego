package pii_test

import data.policies.pii

msg(to, text) := {
	"agentId": "a1",
	"action": {"type": "message", "to": to, "text": text},
	"context": {},
	"facts": {"costUsdTotal": 0, "writes": false},
}

kinds_found(text) := kinds if {
	kinds := pii.found with input as msg("x@example.com", text)
}

descriptions(vs) := {v.description | some v in vs}

test_no_pii_no_violation if {
	count(pii.violations) == 0 with input as msg("someone@gmail.com", "The meeting moved to 10:30, room 4.")
}

test_email_to_external_recipient_blocks if {
	vs := pii.violations with input as msg("someone@gmail.com", "write to Jane.Doe@Corp.example.org please")
	vs == {{
		"policy": "pii",
		"rule": "external_recipient",
		"severity": "high",
		"effect": "block",
		"description": `message to external domain "gmail.com" contains PII: email`,
	}}
}

test_pii_to_internal_recipient_warns if {
	vs := pii.violations with input as msg("ops@example.com", "SSN 123-45-6789")
	vs == {{
		"policy": "pii",
		"rule": "internal_recipient",
		"severity": "low",
		"effect": "warn",
		"description": `message to internal domain "example.com" contains PII: ssn`,
	}}
}

test_kinds_sorted_and_values_never_shown if {
	text := "card 4111 1111 1111 1111, ssn 123-45-6789, mail bob@x.io"
	vs := pii.violations with input as msg("eve@evil.test", text)
	descriptions(vs) == {`message to external domain "evil.test" contains PII: card_number, email, ssn`}
	some v in vs
	not contains(v.description, "4111")
	not contains(v.description, "6789")
	not contains(v.description, "bob@")
}

test_subdomain_of_internal_domain_is_internal if {
	vs := pii.violations with input as msg("ops@eu.mail.Example.COM", "ssn 123-45-6789")
	{v.rule | some v in vs} == {"internal_recipient"}
}

test_lookalike_domain_is_external if {
	vs := pii.violations with input as msg("ops@notexample.com", "ssn 123-45-6789")
	{v.rule | some v in vs} == {"external_recipient"}
	vs2 := pii.violations with input as msg("ops@example.com.evil.test", "ssn 123-45-6789")
	{v.rule | some v in vs2} == {"external_recipient"}
}

test_recipient_case_whitespace_and_angle_brackets if {
	vs := pii.violations with input as msg("  Ops <OPS@Example.com> ", "ssn 123-45-6789")
	{v.rule | some v in vs} == {"internal_recipient"}
}

test_recipient_without_domain_is_external if {
	vs := pii.violations with input as msg("#general", "ssn 123-45-6789")
	descriptions(vs) == {"message to external recipient without a domain contains PII: ssn"}
}

test_internal_domains_from_config if {
	vs := pii.violations with input as msg("a@partner.test", "ssn 123-45-6789")
		with data.policy_kernel.config.pii as {"internal_domains": ["Partner.test", " "]}
	{v.rule | some v in vs} == {"internal_recipient"}
	vs2 := pii.violations with input as msg("a@example.com", "ssn 123-45-6789")
		with data.policy_kernel.config.pii as {"internal_domains": []}
	{v.rule | some v in vs2} == {"external_recipient"}
}

test_email_detection if {
	kinds_found("contact: first.last+tag@sub.example.co.uk") == {"email"}
	kinds_found("UPPER@CASE.ORG") == {"email"}
	kinds_found("not an address: a@b, @handle, x@localhost") == set()
}

test_ssn_detection if {
	kinds_found("123-45-6789") == {"ssn"}
	kinds_found("ssn:123-45-6789.") == {"ssn"}
	kinds_found("id-123-45-6789") == {"ssn"}
	kinds_found("1123-45-6789") == set()
	kinds_found("123-45-67890") == set()
	kinds_found("123-456-7890") == set()
	kinds_found("123456789") == set()
	kinds_found("9-123-45-6789") == {"ssn"}
}

test_card_detection_contiguous if {
	kinds_found("4111111111111") == {"card_number"}
	kinds_found("card 4111111111111111 exp 12/30") == {"card_number"}
	kinds_found("card 4111111111111111 123") == {"card_number"}
	kinds_found("411111111111") == set()
	kinds_found("41111111111111111") == set()
}

test_card_detection_grouped if {
	kinds_found("4111 1111 1111 1111") == {"card_number"}
	kinds_found("4111-1111-1111-1111") == {"card_number"}
	kinds_found("4111 1111 1111 1") == {"card_number"}
	kinds_found("amex 3782-822463-10005.") == {"card_number"}
	kinds_found("(4111 1111 1111 1111)") == {"card_number"}
	kinds_found("4111 1111 1111 1111 123") == {"card_number"}
}

test_card_detection_rejects_near_misses if {
	kinds_found("4111  1111  1111  1111") == set()
	kinds_found("4111 1111 1111 11112") == set()
	kinds_found("41 11 11 11 11 11 11 11") == set()
	kinds_found("phone +1 415-555-0100, order 2026-11-21") == set()
}

test_message_without_pii_or_text if {
	inp := {"agentId": "a1", "action": {"type": "message", "to": "x@gmail.com"}, "context": {}, "facts": {"costUsdTotal": 0, "writes": false}}
	count(pii.violations) == 0 with input as inp
}

test_other_action_types_ignored if {
	inp := {"agentId": "a1", "action": {"type": "tool_call", "tool": "send", "text": "123-45-6789", "to": "x@gmail.com"}, "context": {}, "facts": {"costUsdTotal": 0, "writes": false}}
	count(pii.violations) == 0 with input as inp
}
