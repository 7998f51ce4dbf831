# Tool allow-list per role: config.allow maps a role to the tools it may call.
# A missing or unlisted role may call no tool at all.
package policies.tools

needs_config := true

config := data.policy_kernel.config.tools

known_role if config.allow[input.context.role]

# Never undefined, so a malformed action still yields a violation. Read as a field, not through
# object.get(input.action, ...): that hands OPA the whole action, so the kernel's input projection
# would have to send it all (SQL text, message bodies) to the Wasm on every decision.
default tool := null

tool := input.action.tool

violations contains v if {
	input.action.type == "tool_call"
	not known_role
	v := {
		"policy": "tools",
		"rule": "unknown_role",
		"severity": "high",
		"effect": "block",
		"description": concat("", ["tool ", quote(tool), " called by ", role_label, " that may call no tool"]),
	}
}

violations contains v if {
	input.action.type == "tool_call"
	known_role
	not tool in config.allow[input.context.role]
	v := {
		"policy": "tools",
		"rule": "tool_not_allowed",
		"severity": "high",
		"effect": "block",
		"description": concat("", ["tool ", quote(tool), " is not allowed for role ", quote(input.context.role)]),
	}
}

role_label := concat("", ["unknown role ", quote(input.context.role)]) if {
	is_string(input.context.role)
} else := "a caller without a role"

quote(s) := json.marshal(s)
