# Money transfers: a hard limit per role, and a human-approval signal
# (SIGSTOP) for amounts above the approval threshold but within the limit.
package policies.transactions

needs_config := true

config := data.policy_kernel.config.transactions

amount := input.action.amountUsd

# A role without its own limit (or no role at all) gets the default limit.
limit := role_limit if {
	role_limit := config.role_limits[input.context.role]
} else := config.default_limit_usd

role_label := concat("", ["role ", json.marshal(input.context.role)]) if {
	config.role_limits[input.context.role]
} else := "the default limit"

violations contains v if {
	input.action.type == "transaction"
	amount > limit
	v := {
		"policy": "transactions",
		"rule": "over_role_limit",
		"severity": "high",
		"effect": "block",
		"description": concat("", [
			"transaction of ", json.marshal(amount), " USD exceeds the limit of ",
			json.marshal(limit), " USD (", role_label, ")",
		]),
	}
}

violations contains v if {
	input.action.type == "transaction"
	amount > config.approval_threshold_usd
	amount <= limit
	v := {
		"policy": "transactions",
		"rule": "approval_required",
		"severity": "medium",
		"effect": "signal",
		"signal": "SIGSTOP",
		"description": concat("", [
			"transaction of ", json.marshal(amount), " USD is above the approval threshold of ",
			json.marshal(config.approval_threshold_usd), " USD",
		]),
	}
}
