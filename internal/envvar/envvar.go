// Package envvar documents environment variables and reads them with their
// documented defaults. Each function's configuration lists its variables
// in a table of Vars: the README's table and the CDK app are checked
// against the same list.
package envvar

import "strings"

// Var documents one environment variable.
type Var struct {
	Name, Default, Meaning string
}

// Reader returns a lookup that gives a variable's value through getenv,
// trimmed, or else the default of the first table that lists it.
func Reader(getenv func(string) string, tables ...[]Var) func(string) string {
	return func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, vars := range tables {
			for _, v := range vars {
				if v.Name == name {
					return v.Default
				}
			}
		}
		return ""
	}
}
