package sql_test

import data.policies.sql

stmt(kind, target, has_where) := {"kind": kind, "target": target, "hasWhere": has_where}

sql_input(statements) := {
	"agentId": "a1",
	"action": {"type": "sql", "sql": "(text not read by the policy)"},
	"context": {},
	"facts": {
		"sql": {"statements": statements, "readOnly": false},
		"costUsdTotal": 0,
		"writes": true,
	},
}

rules(vs) := {v.rule | some v in vs}

test_select_is_clean if {
	count(sql.violations) == 0 with input as sql_input([stmt("SELECT", "", false)])
}

test_drop_table_denied if {
	vs := sql.violations with input as sql_input([stmt("DROP", "TABLE", false)])
	vs == {{
		"policy": "sql",
		"rule": "denied_statement",
		"severity": "critical",
		"effect": "block",
		"description": "DROP statement denied (statement 1)",
	}}
}

test_every_statement_counts if {
	vs := sql.violations with input as sql_input([
		stmt("SELECT", "", false),
		stmt("DROP", "TABLE", false),
		stmt("TRUNCATE", "", false),
	])
	{v.description | some v in vs} == {
		"DROP statement denied (statement 2)",
		"TRUNCATE statement denied (statement 3)",
	}
}

test_create_user_and_role_denied_but_not_create_table if {
	vs := sql.violations with input as sql_input([
		stmt("CREATE", "TABLE", false),
		stmt("CREATE", "USER", false),
		stmt("CREATE", "ROLE", false),
	])
	{v.description | some v in vs} == {
		"CREATE USER statement denied (statement 2)",
		"CREATE ROLE statement denied (statement 3)",
	}
}

test_grant_revoke_alter_denied if {
	vs := sql.violations with input as sql_input([
		stmt("GRANT", "", false),
		stmt("REVOKE", "", false),
		stmt("ALTER", "TABLE", false),
	])
	count(vs) == 3
	rules(vs) == {"denied_statement"}
}

test_deny_entries_match_case_insensitively if {
	vs := sql.violations with input as sql_input([stmt("create", "user", false), stmt("Insert", "", false)])
		with data.policy_kernel.config.sql.deny as ["  create   USER ", "insert"]
	{v.description | some v in vs} == {
		"CREATE USER statement denied (statement 1)",
		"INSERT statement denied (statement 2)",
	}
}

test_most_specific_entry_wins_one_violation_per_statement if {
	vs := sql.violations with input as sql_input([stmt("CREATE", "USER", false)])
		with data.policy_kernel.config.sql.deny as ["CREATE", "CREATE USER"]
	vs == {{
		"policy": "sql",
		"rule": "denied_statement",
		"severity": "critical",
		"effect": "block",
		"description": "CREATE USER statement denied (statement 1)",
	}}
}

test_kind_entry_covers_every_target if {
	vs := sql.violations with input as sql_input([stmt("CREATE", "INDEX", false)])
		with data.policy_kernel.config.sql.deny as ["CREATE"]
	{v.description | some v in vs} == {"CREATE statement denied (statement 1)"}
}

test_empty_deny_list_allows_drop if {
	count(sql.violations) == 0 with input as sql_input([stmt("DROP", "TABLE", false)])
		with data.policy_kernel.config.sql.deny as []
}

test_delete_without_where if {
	vs := sql.violations with input as sql_input([stmt("DELETE", "", false)])
	vs == {{
		"policy": "sql",
		"rule": "missing_where",
		"severity": "critical",
		"effect": "block",
		"description": "DELETE without WHERE (statement 1)",
	}}
}

test_update_without_where if {
	vs := sql.violations with input as sql_input([stmt("SELECT", "", true), stmt("UPDATE", "", false)])
	{v.description | some v in vs} == {"UPDATE without WHERE (statement 2)"}
}

test_missing_has_where_counts_as_no_where if {
	vs := sql.violations with input as sql_input([{"kind": "DELETE", "target": ""}])
	rules(vs) == {"missing_where"}
}

test_delete_and_update_with_where_are_clean if {
	count(sql.violations) == 0 with input as sql_input([stmt("DELETE", "", true), stmt("UPDATE", "", true)])
}

test_denied_delete_reported_once if {
	vs := sql.violations with input as sql_input([stmt("DELETE", "", false), stmt("DELETE", "", true)])
		with data.policy_kernel.config.sql.deny as ["DELETE"]
	vs == {
		{
			"policy": "sql",
			"rule": "denied_statement",
			"severity": "critical",
			"effect": "block",
			"description": "DELETE statement denied (statement 1)",
		},
		{
			"policy": "sql",
			"rule": "denied_statement",
			"severity": "critical",
			"effect": "block",
			"description": "DELETE statement denied (statement 2)",
		},
	}
}

test_unparseable if {
	inp := json.patch(sql_input([]), [{"op": "add", "path": "/facts/sql/error", "value": "unterminated string literal at 12"}])
	vs := sql.violations with input as inp
	vs == {{
		"policy": "sql",
		"rule": "unparseable",
		"severity": "high",
		"effect": "block",
		"description": "SQL could not be parsed: unterminated string literal at 12",
	}}
}

test_missing_sql_facts_fail_closed if {
	inp := json.remove(sql_input([]), ["facts/sql"])
	vs := sql.violations with input as inp
	{v.description | some v in vs} == {"SQL could not be parsed: no SQL facts in the policy input"}
}

test_other_action_types_ignored if {
	inp := json.patch(sql_input([stmt("DROP", "TABLE", false)]), [{"op": "replace", "path": "/action", "value": {"type": "message", "to": "a@example.com", "text": "hi"}}])
	count(sql.violations) == 0 with input as inp
}

# Prepared values (README): the kernel evaluates prepare once and hands it back
# at data.policy_kernel.prepared.sql; without it the policy computes the same.
test_prepare_normalizes_the_deny_list if {
	sql.prepare == {"deny": ["CREATE USER", "DROP"]} with data.policy_kernel.config.sql.deny as [" create   user ", "drop"]
	sql.prepared == sql.prepare with data.policy_kernel.config.sql.deny as ["drop"]
}

test_prepared_deny_list_is_read_when_given if {
	rules(sql.violations) == {"denied_statement"} with input as sql_input([stmt("SELECT", "", false)])
		with data.policy_kernel.prepared.sql as {"deny": ["SELECT"]}
}
