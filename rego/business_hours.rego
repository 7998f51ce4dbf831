# Transactions outside business hours (UTC) get a warning. Time comes only
# from input.facts.clock (derived from context.now); without it, no finding.
package policies.business_hours

needs_config := true

config := data.policy_kernel.config.business_hours

minute := input.facts.clock.minuteOfDayUtc

# What depends on the data alone, evaluated once per kernel (README: "Prepared
# values"): formatting the window is about 2 µs of the decision that reports it.
# METADATA
# entrypoint: true
prepare := {"window": concat("-", [hhmm(config.start_minute_utc), hhmm(config.end_minute_utc)])}

# The kernel's copy of prepare, else (opa eval, opa test, another host) computed here.
prepared := kept if {
	kept := data.policy_kernel.prepared.business_hours
} else := prepare

# [start, end) when start <= end; a window that wraps midnight (start > end,
# e.g. 22:00-06:00) is open from start to midnight and from midnight to end.
open if {
	config.start_minute_utc <= config.end_minute_utc
	minute >= config.start_minute_utc
	minute < config.end_minute_utc
}

open if {
	config.start_minute_utc > config.end_minute_utc
	minute >= config.start_minute_utc
}

open if {
	config.start_minute_utc > config.end_minute_utc
	minute < config.end_minute_utc
}

violations contains v if {
	input.action.type == "transaction"
	is_number(minute)
	not open
	v := {
		"policy": "business_hours",
		"rule": "outside_business_hours",
		"severity": "medium",
		"effect": "warn",
		"description": concat("", [
			"transaction at ", hhmm(minute), " UTC is outside business hours ",
			prepared.window, " UTC",
		]),
	}
}

# Minutes since midnight as zero-padded "HH:MM".
hhmm(m) := concat(":", [pad2(floor(m / 60)), pad2(m % 60)])

pad2(n) := format_int(n, 10) if n >= 10

pad2(n) := concat("", ["0", format_int(n, 10)]) if n < 10
