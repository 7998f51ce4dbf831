# SQL guard over the statements the TypeScript side split out of action.sql
# (input.facts.sql). Every statement of a multi-statement string counts.
package policies.sql

needs_config := true

config := data.policy_kernel.config.sql

statements := input.facts.sql.statements

# What depends on the data alone. Wasm keeps nothing between evaluations, so
# the kernel evaluates this entrypoint once, at load, and hands the result back
# in data.policy_kernel.prepared.sql (README: "Prepared values"): about 1 µs of
# an SQL decision with the default list.
# METADATA
# entrypoint: true
prepare := {
	# Deny entries, upper-case with single spaces ("create  user" -> "CREATE USER").
	"deny": [normalize(d) | some d in config.deny],
}

# The kernel's copy of prepare, else (opa eval, opa test, another host) computed here.
prepared := kept if {
	kept := data.policy_kernel.prepared.sql
} else := prepare

deny := prepared.deny

normalize(s) := concat(" ", [w | some w in split(upper(trim_space(s)), " "); w != ""])

# The deny entry a statement matches: "KIND TARGET" when listed (most specific),
# else "KIND". At most one entry per statement, so one violation per statement.
denied_by(stmt) := entry if {
	stmt.target != ""
	entry := concat(" ", [upper(stmt.kind), upper(stmt.target)])
	entry in deny
} else := entry if {
	entry := upper(stmt.kind)
	entry in deny
}

ordinal(i) := format_int(i + 1, 10)

violations contains v if {
	input.action.type == "sql"
	some i, stmt in statements
	entry := denied_by(stmt)
	v := {
		"policy": "sql",
		"rule": "denied_statement",
		"severity": "critical",
		"effect": "block",
		"description": concat("", [entry, " statement denied (statement ", ordinal(i), ")"]),
	}
}

# A DELETE/UPDATE that denied_statement already blocks is not reported twice.
violations contains v if {
	input.action.type == "sql"
	some i, stmt in statements
	upper(stmt.kind) in {"DELETE", "UPDATE"}
	not stmt.hasWhere
	not denied_by(stmt)
	v := {
		"policy": "sql",
		"rule": "missing_where",
		"severity": "critical",
		"effect": "block",
		"description": concat("", [upper(stmt.kind), " without WHERE (statement ", ordinal(i), ")"]),
	}
}

violations contains v if {
	input.action.type == "sql"
	reason := unparseable_reason
	v := {
		"policy": "sql",
		"rule": "unparseable",
		"severity": "high",
		"effect": "block",
		"description": concat("", ["SQL could not be parsed: ", reason]),
	}
}

unparseable_reason := input.facts.sql.error

# No facts at all means the enrichment step did not run: fail closed.
unparseable_reason := "no SQL facts in the policy input" if not input.facts.sql
