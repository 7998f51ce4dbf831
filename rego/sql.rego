# SQL guard over the statements the kernel read from action.sql with the databases'
# own parsers (input.facts.sql: PostgreSQL's parse tree, SQLite's compiler and its
# authorizer). An allow-list: a statement whose kind is not in config.allow is
# denied; an UPDATE or DELETE must have a WHERE that restricts rows; functions in
# config.deny_functions and writes to system catalogs are denied; text a parser
# could not read is denied. Every statement of a multi-statement string counts, and
# so does every data-modifying statement nested in one (a CTE's DELETE).
package policies.sql

needs_config := true

config := data.policy_kernel.config.sql

statements := input.facts.sql.statements

# What depends on the data alone. Wasm keeps nothing between evaluations, so
# the kernel evaluates this entrypoint once, at load, and hands the result back
# in data.policy_kernel.prepared.sql (README: "Prepared values").
# METADATA
# entrypoint: true
prepare := {
	# Kinds upper-case with single spaces ("create  table" -> "CREATE TABLE").
	"allow": [normalize(k) | some k in config.allow],
	"deny": [normalize(d) | some d in config.deny],
	"deny_functions": [lower(trim_space(f)) | some f in config.deny_functions],
	"deny_tables": [lower(trim_space(t)) | some t in config.deny_tables],
}

# The kernel's copy of prepare, else (opa eval, opa test, another host) computed here.
prepared := kept if {
	kept := data.policy_kernel.prepared.sql
} else := prepare

normalize(s) := concat(" ", [w | some w in split(upper(trim_space(s)), " "); w != ""])

# A deny entry names a kind ("DELETE") or a family of kinds ("DROP" denies "DROP TABLE").
denied_by_entry(kind) if kind in prepared.deny

denied_by_entry(kind) if {
	some entry in prepared.deny
	startswith(kind, concat("", [entry, " "]))
}

# Without configuration nothing is allowed or denied here: the kernel's
# missing_config check blocks instead.
not_allowed(stmt) if {
	is_array(config.allow)
	not stmt.kind in prepared.allow
}

not_allowed(stmt) if denied_by_entry(stmt.kind)

label(stmt) := concat("", [" (statement ", format_int(stmt.ordinal, 10), ")"])

violations contains v if {
	input.action.type == "sql"
	some stmt in statements
	not_allowed(stmt)
	v := {
		"policy": "sql",
		"rule": "denied_statement",
		"severity": "critical",
		"effect": "block",
		"description": concat("", [stmt.kind, " statement is not allowed", label(stmt)]),
	}
}

# An allowed UPDATE/DELETE must restrict the rows it changes.
where_rules := {
	"none": ["missing_where", " without WHERE"],
	"tautology": ["tautological_where", " whose WHERE matches every row"],
	"unknown": ["unverifiable_where", " whose WHERE the databases read differently"],
}

violations contains v if {
	input.action.type == "sql"
	some stmt in statements
	not not_allowed(stmt)
	[rule, what] := where_rules[stmt.where]
	v := {
		"policy": "sql",
		"rule": rule,
		"severity": "critical",
		"effect": "block",
		"description": concat("", [stmt.kind, what, label(stmt)]),
	}
}

# A function is denied by its name, qualified or not (pg_catalog.pg_read_file).
denied_function(name) if name in prepared.deny_functions

denied_function(name) if {
	parts := split(name, ".")
	parts[count(parts) - 1] in prepared.deny_functions
}

violations contains v if {
	input.action.type == "sql"
	some stmt in statements
	some name in stmt.functions
	denied_function(name)
	v := {
		"policy": "sql",
		"rule": "denied_function",
		"severity": "critical",
		"effect": "block",
		"description": concat("", ["function ", name, " is not allowed", label(stmt)]),
	}
}

# A table is denied by its name, qualified or not (pg_catalog.pg_authid): reading
# it is the harm (credentials), so any statement that names it is denied.
denied_table(name) if name in prepared.deny_tables

denied_table(name) if {
	parts := split(name, ".")
	parts[count(parts) - 1] in prepared.deny_tables
}

violations contains v if {
	input.action.type == "sql"
	some stmt in statements
	some name in stmt.tables
	denied_table(name)
	v := {
		"policy": "sql",
		"rule": "denied_table",
		"severity": "critical",
		"effect": "block",
		"description": concat("", [stmt.kind, " names the table ", name, ", which is not allowed", label(stmt)]),
	}
}

system_table(name) if startswith(name, "pg_")

system_table(name) if startswith(name, "pg_catalog.")

system_table(name) if startswith(name, "information_schema.")

system_table(name) if startswith(name, "sqlite_")

violations contains v if {
	input.action.type == "sql"
	some stmt in statements
	stmt.writes
	some name in stmt.tables
	system_table(name)
	v := {
		"policy": "sql",
		"rule": "system_table",
		"severity": "critical",
		"effect": "block",
		"description": concat("", [stmt.kind, " touches the system table ", name, label(stmt)]),
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
