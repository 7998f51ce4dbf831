package business_hours_test

import data.policies.business_hours

tx_at(minute) := {
	"agentId": "a1",
	"action": {"type": "transaction", "amountUsd": 10, "recipient": "acct-1"},
	"context": {"now": "2026-11-21T00:00:00Z"},
	"facts": {"clock": {"minuteOfDayUtc": minute, "weekdayUtc": 6}, "costUsdTotal": 0, "writes": true},
}

outside(minute) if count(business_hours.violations) == 1 with input as tx_at(minute)

test_inside_business_hours if {
	every m in [540, 541, 720, 1019] {
		not outside(m)
	}
}

test_outside_business_hours if {
	every m in [0, 539, 1020, 1439] {
		outside(m)
	}
}

test_description_and_shape if {
	vs := business_hours.violations with input as tx_at(65)
	vs == {{
		"policy": "business_hours",
		"rule": "outside_business_hours",
		"severity": "medium",
		"effect": "warn",
		"description": "transaction at 01:05 UTC is outside business hours 09:00-17:00 UTC",
	}}
}

test_no_clock_no_finding if {
	inp := json.remove(tx_at(0), ["facts/clock"])
	count(business_hours.violations) == 0 with input as inp
}

test_window_from_config if {
	cfg := {"start_minute_utc": 0, "end_minute_utc": 60}
	count(business_hours.violations) == 0 with input as tx_at(59)
		with data.policy_kernel.config.business_hours as cfg
	vs := business_hours.violations with input as tx_at(60)
		with data.policy_kernel.config.business_hours as cfg
	{v.description | some v in vs} == {"transaction at 01:00 UTC is outside business hours 00:00-01:00 UTC"}
}

test_window_wrapping_midnight if {
	cfg := {"start_minute_utc": 1320, "end_minute_utc": 360}
	every m in [1320, 1439, 0, 359] {
		count(business_hours.violations) == 0 with input as tx_at(m)
			with data.policy_kernel.config.business_hours as cfg
	}
	every m in [360, 720, 1319] {
		count(business_hours.violations) == 1 with input as tx_at(m)
			with data.policy_kernel.config.business_hours as cfg
	}
}

test_other_action_types_ignored if {
	inp := json.patch(tx_at(0), [{"op": "replace", "path": "/action", "value": {"type": "sql", "sql": "SELECT 1"}}])
	count(business_hours.violations) == 0 with input as inp
}

# Prepared values (README): the kernel formats the window once and hands it back
# at data.policy_kernel.prepared.business_hours; without it the policy does.
test_prepare_formats_the_window if {
	business_hours.prepare == {"window": "22:00-06:30"} with data.policy_kernel.config.business_hours as {"start_minute_utc": 1320, "end_minute_utc": 390}
	business_hours.prepared == business_hours.prepare
}

test_prepared_window_is_read_when_given if {
	vs := business_hours.violations with input as tx_at(65)
		with data.policy_kernel.prepared.business_hours as {"window": "(prepared)"}
	{v.description | some v in vs} == {"transaction at 01:05 UTC is outside business hours (prepared) UTC"}
}
