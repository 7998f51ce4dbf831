# The aggregate entrypoint (kernel/violations): every enabled policy's
# violations in one set, so a decision costs exactly one Wasm call.
package kernel

# Policies switched off by data.policy_kernel.disabled[name] == true.
disabled(name) if data.policy_kernel.disabled[name] == true

# A helper, not an inline `not is_object(...)`: OPA hoists an undefined call
# argument out of the negation, which would make the whole body undefined.
configured(name) if is_object(data.policy_kernel.config[name])

violations contains v if {
	some name, pkg in data.policies
	not disabled(name)
	some v in pkg.violations
}

# Fail closed: a policy that reads data.policy_kernel.config.<name> declares
# needs_config := true. If a setData call replaced the bundle data without that
# object, the policy would silently find nothing, so block instead.
violations contains v if {
	some name, pkg in data.policies
	not disabled(name)
	pkg.needs_config == true
	not configured(name)
	v := {
		"policy": "kernel",
		"rule": "missing_config",
		"severity": "critical",
		"effect": "block",
		"description": concat("", ["configuration data.policy_kernel.config.", name, " is missing"]),
	}
}
