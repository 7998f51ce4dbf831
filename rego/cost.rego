# Budget guard for every action type: facts.costUsdTotal is context.costUsd +
# context.spentUsd, summed by the TypeScript side.
package policies.cost

needs_config := true

config := data.policy_kernel.config.cost

violations contains v if {
	input.facts.costUsdTotal > config.max_cost_usd
	v := {
		"policy": "cost",
		"rule": "budget_exceeded",
		"severity": "high",
		"effect": "block",
		"description": "total cost exceeds the budget (cost.max_cost_usd)",
	}
}
