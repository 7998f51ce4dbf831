package cost_test

import data.policies.cost

cost_input(type, total) := {
	"agentId": "a1",
	"action": {"type": type},
	"context": {},
	"facts": {"costUsdTotal": total, "writes": false},
}

test_within_budget if {
	count(cost.violations) == 0 with input as cost_input("tool_call", 99.99)
}

test_exactly_at_budget_is_allowed if {
	count(cost.violations) == 0 with input as cost_input("tool_call", 100)
}

test_over_budget_any_action_type if {
	some type in ["sql", "tool_call", "message", "transaction", "custom_thing"]
	vs := cost.violations with input as cost_input(type, 100.5)
	vs == {{
		"policy": "cost",
		"rule": "budget_exceeded",
		"severity": "high",
		"effect": "block",
		"description": "total cost exceeds the budget (cost.max_cost_usd)",
	}}
}

test_every_action_type_is_checked if {
	every type in ["sql", "tool_call", "message", "transaction", "custom_thing"] {
		count(cost.violations) == 1 with input as cost_input(type, 101)
	}
}

test_budget_from_config if {
	vs := cost.violations with input as cost_input("sql", 10)
		with data.policy_kernel.config.cost.max_cost_usd as 5
	{v.rule | some v in vs} == {"budget_exceeded"}
	count(cost.violations) == 0 with input as cost_input("sql", 150)
		with data.policy_kernel.config.cost.max_cost_usd as 1000
}
