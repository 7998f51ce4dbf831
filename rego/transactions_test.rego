package transactions_test

import data.policies.transactions

tx(amount, context) := {
	"agentId": "a1",
	"action": {"type": "transaction", "amountUsd": amount, "recipient": "acct-1"},
	"context": context,
	"facts": {"costUsdTotal": 0, "writes": true},
}

rules(vs) := {v.rule | some v in vs}

test_small_amount_is_clean if {
	count(transactions.violations) == 0 with input as tx(50, {"role": "support"})
	count(transactions.violations) == 0 with input as tx(100, {"role": "support"})
}

test_approval_required_above_threshold_within_limit if {
	vs := transactions.violations with input as tx(100.01, {"role": "support"})
	vs == {{
		"policy": "transactions",
		"rule": "approval_required",
		"severity": "medium",
		"effect": "signal",
		"signal": "SIGSTOP",
		"description": "transaction of 100.01 USD is above the approval threshold of 100 USD",
	}}
}

test_amount_equal_to_limit_needs_approval_only if {
	vs := transactions.violations with input as tx(1000, {"role": "support"})
	rules(vs) == {"approval_required"}
}

test_over_role_limit_blocks_without_approval_signal if {
	vs := transactions.violations with input as tx(1500, {"role": "support"})
	vs == {{
		"policy": "transactions",
		"rule": "over_role_limit",
		"severity": "high",
		"effect": "block",
		"description": `transaction of 1500 USD exceeds the limit of 1000 USD (role "support")`,
	}}
}

test_role_limits_differ if {
	rules(transactions.violations) == {"approval_required"} with input as tx(9000, {"role": "admin"})
	rules(transactions.violations) == {"over_role_limit"} with input as tx(9000, {"role": "analyst"})
}

test_unknown_role_uses_default_limit if {
	vs := transactions.violations with input as tx(300, {"role": "intern"})
	{v.description | some v in vs} == {"transaction of 300 USD exceeds the limit of 250 USD (the default limit)"}
}

test_missing_role_uses_default_limit if {
	vs := transactions.violations with input as tx(300, {})
	{v.description | some v in vs} == {"transaction of 300 USD exceeds the limit of 250 USD (the default limit)"}
	rules(transactions.violations) == {"approval_required"} with input as tx(250, {})
}

test_limits_from_config if {
	cfg := {"approval_threshold_usd": 10, "default_limit_usd": 20, "role_limits": {"bot": 0}}
	rules(transactions.violations) == {"over_role_limit"} with input as tx(1, {"role": "bot"})
		with data.policy_kernel.config.transactions as cfg
	rules(transactions.violations) == {"approval_required"} with input as tx(15, {"role": "support"})
		with data.policy_kernel.config.transactions as cfg
	rules(transactions.violations) == {"over_role_limit"} with input as tx(25, {"role": "support"})
		with data.policy_kernel.config.transactions as cfg
}

test_threshold_at_or_above_limit_never_signals if {
	cfg := {"approval_threshold_usd": 5000, "default_limit_usd": 20, "role_limits": {"support": 1000}}
	count(transactions.violations) == 0 with input as tx(900, {"role": "support"})
		with data.policy_kernel.config.transactions as cfg
	rules(transactions.violations) == {"over_role_limit"} with input as tx(1001, {"role": "support"})
		with data.policy_kernel.config.transactions as cfg
}

test_other_action_types_ignored if {
	inp := {"agentId": "a1", "action": {"type": "tool_call", "tool": "pay", "amountUsd": 1e6}, "context": {}, "facts": {"costUsdTotal": 0, "writes": false}}
	count(transactions.violations) == 0 with input as inp
}
