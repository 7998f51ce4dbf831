package sql_test

import data.policies.sql

stmt(ordinal, kind, where) := {
	"ordinal": ordinal, "kind": kind, "tables": ["users"], "functions": [],
	"where": where, "writes": kind != "SELECT", "dialect": "postgres",
}

sql_input(statements) := {
	"agentId": "a1",
	"action": {"type": "sql", "sql": "(text not read by the policy)"},
	"context": {},
	"facts": {
		"sql": {"dialect": "postgres", "statements": statements, "readOnly": false},
		"costUsdTotal": 0,
		"writes": true,
	},
}

rules(vs) := {v.rule | some v in vs}

descriptions(vs) := {v.description | some v in vs}

test_reads_inserts_and_restricted_writes_are_clean if {
	count(sql.violations) == 0 with input as sql_input([
		stmt(1, "SELECT", null),
		stmt(2, "INSERT", null),
		stmt(3, "UPDATE", "restricting"),
		stmt(4, "DELETE", "restricting"),
	])
}

test_kinds_outside_the_allow_list_are_denied if {
	vs := sql.violations with input as sql_input([
		stmt(1, "SELECT", null),
		stmt(2, "DROP TABLE", null),
		stmt(3, "PRAGMA", null),
		stmt(3, "UPSERT", null),
	])
	vs == {
		{
			"policy": "sql", "rule": "denied_statement", "severity": "critical", "effect": "block",
			"description": "DROP TABLE statement is not allowed (statement 2)",
		},
		{
			"policy": "sql", "rule": "denied_statement", "severity": "critical", "effect": "block",
			"description": "PRAGMA statement is not allowed (statement 3)",
		},
		{
			"policy": "sql", "rule": "denied_statement", "severity": "critical", "effect": "block",
			"description": "UPSERT statement is not allowed (statement 3)",
		},
	}
}

test_every_where_verdict_but_restricting_is_denied if {
	vs := sql.violations with input as sql_input([
		stmt(1, "DELETE", "none"),
		stmt(2, "UPDATE", "tautology"),
		stmt(3, "DELETE", "unknown"),
	])
	descriptions(vs) == {
		"DELETE without WHERE (statement 1)",
		"UPDATE whose WHERE matches every row (statement 2)",
		"DELETE whose WHERE the databases read differently (statement 3)",
	}
	rules(vs) == {"missing_where", "tautological_where", "unverifiable_where"}
}

test_a_denied_kind_is_not_reported_twice if {
	vs := sql.violations with input as sql_input([stmt(1, "DELETE", "none")])
		with data.policy_kernel.config.sql.deny as ["DELETE"]
	rules(vs) == {"denied_statement"}
}

test_deny_entries_name_a_kind_or_a_family if {
	vs := sql.violations with input as sql_input([stmt(1, "INSERT", null), stmt(2, "SELECT", null)])
		with data.policy_kernel.config.sql.deny as ["insert"]
	descriptions(vs) == {"INSERT statement is not allowed (statement 1)"}
	family := sql.violations with input as sql_input([stmt(1, "CREATE TABLE", null)])
		with data.policy_kernel.config.sql.allow as ["SELECT", "CREATE TABLE"]
		with data.policy_kernel.config.sql.deny as ["CREATE"]
	descriptions(family) == {"CREATE TABLE statement is not allowed (statement 1)"}
}

test_the_allow_list_is_configuration if {
	count(sql.violations) == 0 with input as sql_input([stmt(1, "EXPLAIN", null)])
		with data.policy_kernel.config.sql.allow as [" explain "]
}

test_denied_functions_qualified_or_not if {
	with_functions := {"ordinal": 1, "kind": "SELECT", "tables": [], "functions": ["lower", "pg_catalog.pg_read_file", "pg_sleep"], "where": null, "writes": false, "dialect": "postgres"}
	vs := sql.violations with input as sql_input([with_functions])
	descriptions(vs) == {
		"function pg_catalog.pg_read_file is not allowed (statement 1)",
		"function pg_sleep is not allowed (statement 1)",
	}
}

test_credential_tables_are_denied_even_to_read if {
	read := {"ordinal": 1, "kind": "SELECT", "tables": ["pg_catalog.pg_authid", "pg_shadow", "users"], "functions": [], "where": null, "writes": false, "dialect": "postgres"}
	vs := sql.violations with input as sql_input([read])
	descriptions(vs) == {
		"SELECT names the table pg_catalog.pg_authid, which is not allowed (statement 1)",
		"SELECT names the table pg_shadow, which is not allowed (statement 1)",
	}
	rules(vs) == {"denied_table"}
}

test_writes_to_system_tables_are_denied if {
	catalog := {"ordinal": 1, "kind": "UPDATE", "tables": ["pg_authid", "pg_catalog.pg_class", "information_schema.tables", "sqlite_master", "users"], "where": "restricting", "functions": [], "writes": true, "dialect": "postgres"}
	vs := sql.violations with input as sql_input([catalog])
	{v.description | some v in vs; v.rule == "system_table"} == {
		"UPDATE touches the system table pg_authid (statement 1)",
		"UPDATE touches the system table pg_catalog.pg_class (statement 1)",
		"UPDATE touches the system table information_schema.tables (statement 1)",
		"UPDATE touches the system table sqlite_master (statement 1)",
	}
	read := json.patch(catalog, [{"op": "replace", "path": "/writes", "value": false}, {"op": "replace", "path": "/kind", "value": "SELECT"}])
	rules(sql.violations) == {"denied_table"} with input as sql_input([read])
}

test_unparseable_sql_is_blocked if {
	vs := sql.violations with input as json.patch(sql_input([]), [{"op": "add", "path": "/facts/sql/error", "value": "PostgreSQL cannot parse it: syntax error"}])
	vs == {{
		"policy": "sql", "rule": "unparseable", "severity": "high", "effect": "block",
		"description": "SQL could not be parsed: PostgreSQL cannot parse it: syntax error",
	}}
}

test_missing_facts_fail_closed if {
	vs := sql.violations with input as {"action": {"type": "sql", "sql": "SELECT 1"}, "facts": {}}
	descriptions(vs) == {"SQL could not be parsed: no SQL facts in the policy input"}
}

test_other_action_types_are_ignored if {
	count(sql.violations) == 0 with input as {"action": {"type": "message"}, "facts": {}}
}

test_prepare_matches_the_computed_values if {
	sql.prepare == sql.prepared
	sql.prepare.allow == ["SELECT", "INSERT", "UPDATE", "DELETE"]
}

test_a_prepared_value_is_used_when_present if {
	vs := sql.violations with input as sql_input([stmt(1, "SELECT", null)])
		with data.policy_kernel.prepared.sql as {"allow": ["INSERT"], "deny": [], "deny_functions": [], "deny_tables": []}
	descriptions(vs) == {"SELECT statement is not allowed (statement 1)"}
}
