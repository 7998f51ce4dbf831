package tools_test

import data.policies.tools

call(tool, context) := {
	"agentId": "a1",
	"action": {"type": "tool_call", "tool": tool, "args": {}},
	"context": context,
	"facts": {"costUsdTotal": 0, "writes": false},
}

test_allowed_tool_for_role if {
	count(tools.violations) == 0 with input as call("sql_query", {"role": "analyst"})
	count(tools.violations) == 0 with input as call("create_ticket", {"role": "support"})
	count(tools.violations) == 0 with input as call("issue_refund", {"role": "admin"})
}

test_tool_not_allowed_for_role if {
	vs := tools.violations with input as call("issue_refund", {"role": "support"})
	vs == {{
		"policy": "tools",
		"rule": "tool_not_allowed",
		"severity": "high",
		"effect": "block",
		"description": `tool "issue_refund" is not allowed for role "support"`,
	}}
}

test_unknown_role if {
	vs := tools.violations with input as call("search_docs", {"role": "intern"})
	vs == {{
		"policy": "tools",
		"rule": "unknown_role",
		"severity": "high",
		"effect": "block",
		"description": `tool "search_docs" called by unknown role "intern" that may call no tool`,
	}}
}

test_missing_role if {
	vs := tools.violations with input as call("search_docs", {})
	{v.description | some v in vs} == {`tool "search_docs" called by a caller without a role that may call no tool`}
}

test_non_string_role_is_unknown if {
	vs := tools.violations with input as call("search_docs", {"role": 7})
	{v.rule | some v in vs} == {"unknown_role"}
}

test_missing_tool_field_still_blocks if {
	inp := {"agentId": "a1", "action": {"type": "tool_call"}, "context": {"role": "admin"}, "facts": {"costUsdTotal": 0, "writes": false}}
	vs := tools.violations with input as inp
	{v.description | some v in vs} == {`tool null is not allowed for role "admin"`}
}

test_allow_map_from_config if {
	allow := {"bot": ["ping"], "mute": []}
	count(tools.violations) == 0 with input as call("ping", {"role": "bot"})
		with data.policy_kernel.config.tools as {"allow": allow}
	vs := tools.violations with input as call("ping", {"role": "mute"})
		with data.policy_kernel.config.tools as {"allow": allow}
	{v.rule | some v in vs} == {"tool_not_allowed"}
	vs2 := tools.violations with input as call("sql_query", {"role": "analyst"})
		with data.policy_kernel.config.tools as {"allow": allow}
	{v.rule | some v in vs2} == {"unknown_role"}
}

test_other_action_types_ignored if {
	inp := {"agentId": "a1", "action": {"type": "sql", "sql": "SELECT 1"}, "context": {}, "facts": {"costUsdTotal": 0, "writes": false}}
	count(tools.violations) == 0 with input as inp
}
