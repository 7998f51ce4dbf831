# The OPA HTTP API authorization example: employees read their own salary, managers their reports'.
package httpapi.authz

default allow := false

allow if {
	input.method == "GET"
	input.path == ["finance", "salary", input.user]
}

allow if {
	input.method == "GET"
	input.path = ["finance", "salary", username]
	username in data.managers[input.user]
}
