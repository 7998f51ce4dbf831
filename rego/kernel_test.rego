package kernel_test

import data.kernel

# A DROP from an unknown role, over budget: sql and cost both fire.
drop_over_budget := {
	"agentId": "a1",
	"action": {"type": "sql", "sql": "DROP TABLE users"},
	"context": {"role": "intern", "costUsd": 150},
	"facts": {
		"sql": {"dialect": "any", "statements": [{"ordinal": 1, "kind": "DROP TABLE", "tables": ["users"], "functions": [], "where": null, "writes": true, "dialect": "postgres"}], "readOnly": false},
		"costUsdTotal": 150,
		"writes": true,
	},
}

# A large transaction at 20:00 UTC: transactions and business_hours both fire.
late_transfer := {
	"agentId": "a1",
	"action": {"type": "transaction", "amountUsd": 500, "recipient": "acct-9"},
	"context": {"role": "support", "now": "2026-11-20T20:00:00Z"},
	"facts": {"clock": {"minuteOfDayUtc": 1200, "weekdayUtc": 5}, "costUsdTotal": 0, "writes": true},
}

# PII sent to an outside domain: only pii fires.
pii_message := {
	"agentId": "a1",
	"action": {"type": "message", "to": "x@gmail.com", "text": "ssn 123-45-6789"},
	"context": {"role": "intern"},
	"facts": {"message": {"recipientDomains": ["gmail.com"], "unparseableRecipient": false, "pii": ["ssn"]}, "costUsdTotal": 0, "writes": false},
}

# A tool the role may not call.
forbidden_tool := {
	"agentId": "a1",
	"action": {"type": "tool_call", "tool": "issue_refund", "args": {}},
	"context": {"role": "analyst"},
	"facts": {"costUsdTotal": 0, "writes": false},
}

clean_select := {
	"agentId": "a1",
	"action": {"type": "sql", "sql": "SELECT 1"},
	"context": {"role": "analyst"},
	"facts": {
		"sql": {"dialect": "any", "statements": [{"ordinal": 1, "kind": "SELECT", "tables": [], "functions": [], "where": null, "writes": false, "dialect": "postgres"}], "readOnly": true},
		"costUsdTotal": 1,
		"writes": false,
	},
}

pairs(vs) := {[v.policy, v.rule] | some v in vs}

test_clean_action_has_no_violations if {
	count(kernel.violations) == 0 with input as clean_select
}

test_union_of_all_policies if {
	pairs(kernel.violations) == {["sql", "denied_statement"], ["cost", "budget_exceeded"]} with input as drop_over_budget
	pairs(kernel.violations) == {
		["transactions", "approval_required"],
		["business_hours", "outside_business_hours"],
	} with input as late_transfer
	pairs(kernel.violations) == {["pii", "external_recipient"]} with input as pii_message
	pairs(kernel.violations) == {["tools", "tool_not_allowed"]} with input as forbidden_tool
}

test_union_keeps_full_violation_objects if {
	vs := kernel.violations with input as late_transfer
	some v in vs
	v == {
		"policy": "transactions",
		"rule": "approval_required",
		"severity": "medium",
		"effect": "signal",
		"signal": "SIGSTOP",
		"description": "transaction of 500 USD is above the approval threshold of 100 USD",
	}
}

test_every_default_policy_is_enabled_and_configured if {
	every name in ["sql", "cost", "tools", "pii", "transactions", "business_hours"] {
		data.policies[name].needs_config == true
		is_object(data.policy_kernel.config[name])
		not kernel.disabled(name)
	}
}

# data.policy_kernel.policies names the policies of a bundle for the TypeScript
# side and is what kernel.rego is generated from: it must list exactly the packages.
test_declared_policies_match_packages if {
	sort(data.policy_kernel.policies) == sort(object.keys(data.policies))
}

test_disabled_policy_is_skipped if {
	pairs(kernel.violations) == {["cost", "budget_exceeded"]} with input as drop_over_budget
		with data.policy_kernel.disabled as {"sql": true}
	pairs(kernel.violations) == {["sql", "denied_statement"]} with input as drop_over_budget
		with data.policy_kernel.disabled as {"cost": true, "unknown_policy": true}
}

test_only_true_disables if {
	pairs(kernel.violations) == {["sql", "denied_statement"], ["cost", "budget_exceeded"]} with input as drop_over_budget
		with data.policy_kernel.disabled as {"sql": "yes", "cost": false}
}

test_missing_disabled_map_enables_all if {
	pairs(kernel.violations) == {["sql", "denied_statement"], ["cost", "budget_exceeded"]} with input as drop_over_budget
		with data.policy_kernel as {"config": data.policy_kernel.config}
}

test_missing_config_fails_closed if {
	cfg := object.remove(data.policy_kernel.config, ["sql", "pii"])
	vs := kernel.violations with input as clean_select with data.policy_kernel.config as cfg
	vs == {
		{
			"policy": "kernel",
			"rule": "missing_config",
			"severity": "critical",
			"effect": "block",
			"description": "configuration data.policy_kernel.config.sql is missing",
		},
		{
			"policy": "kernel",
			"rule": "missing_config",
			"severity": "critical",
			"effect": "block",
			"description": "configuration data.policy_kernel.config.pii is missing",
		},
	}
}

test_every_policy_fails_closed_without_config if {
	vs := kernel.violations with input as clean_select with data.policy_kernel.config as {}
	{v.description | some v in vs} == {concat("", ["configuration data.policy_kernel.config.", name, " is missing"]) |
		some name in data.policy_kernel.policies
	}
	every v in vs {
		v.rule == "missing_config"
		v.effect == "block"
	}
}

test_missing_config_of_disabled_policy_is_ignored if {
	cfg := object.remove(data.policy_kernel.config, ["sql"])
	count(kernel.violations) == 0 with input as clean_select
		with data.policy_kernel as {"config": cfg, "disabled": {"sql": true}}
}

test_every_violation_is_well_formed if {
	every inp in [drop_over_budget, late_transfer] {
		well_formed(inp)
	}
}

well_formed(inp) if {
	vs := kernel.violations with input as inp
	count(vs) > 0
	every v in vs {
		v.severity in {"critical", "high", "medium", "low"}
		v.effect in {"block", "warn", "modify", "signal"}
		is_string(v.description)
		is_signal := v.effect == "signal"
		is_signal == is_string(object.get(v, "signal", null))
	}
}

# An action of a type no policy guards for: only the unscoped cost policy can fire.
browse_over_budget := {
	"agentId": "a1",
	"action": {"type": "browse", "url": "https://example.com"},
	"context": {"role": "analyst"},
	"facts": {"costUsdTotal": 150, "writes": false},
}

# The per-type entrypoints leave out only policies that cannot fire for the type:
# each gives what policy_violations gives, on actions where several policies fire.
test_per_type_entrypoints_match_policy_violations if {
	every doc in [drop_over_budget, late_transfer, pii_message, forbidden_tool, clean_select] {
		kernel.violations_of_type[doc.action.type] == kernel.policy_violations with input as doc
	}
	kernel.violations_of_other_types == kernel.policy_violations with input as browse_over_budget
	pairs(kernel.violations_of_other_types) == {["cost", "budget_exceeded"]} with input as browse_over_budget
}

test_action_scopes_name_every_policy_for_every_type if {
	every names in kernel.action_scopes.types {
		every name in kernel.action_scopes.other {
			name in names
		}
		count(names) > count(kernel.action_scopes.other)
	}
	{name | some names in kernel.action_scopes.types; some name in names} == {name | some name in data.policy_kernel.policies}
}
