package moveapi_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// readmeRow is an action's row in the README's table of actions.
func readmeRow(a moveapi.Action) string {
	mutates, fields, idem := "no", "", "no"
	if a.Mutates {
		mutates = "yes"
	}
	for i, f := range a.Fields {
		if i > 0 {
			fields += ", "
		}
		fields += "`" + string(f) + "`"
		for _, r := range a.Requires {
			if r == f {
				fields += " (required)"
			}
		}
	}
	if fields == "" {
		fields = "-"
	}
	if a.Idempotent {
		idem = "yes"
	}
	return "| `" + string(a.Name) + "` | " + a.Help + " | " + mutates + " | " + fields + " | " + idem + " |"
}

// The README's table of actions and the command's doc list what the table
// holds, in its order.
func TestDocsListTheTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `") && strings.Count(line, " | ") == 4 && !strings.Contains(line, "`_") {
			if _, ok := moveapi.Lookup(moveapi.ActionName(strings.Trim(strings.Fields(line)[1], "`"))); ok {
				rows = append(rows, line)
			}
		}
	}
	var want []string
	for _, a := range moveapi.Actions {
		want = append(want, readmeRow(a))
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("README's table of actions:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}

	doc, err := os.ReadFile("../../cmd/eni-failover/main.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)move function \(([^)]*)\)`).FindSubmatch(doc)
	var names []string
	for _, a := range moveapi.Actions {
		names = append(names, string(a.Name))
	}
	if m == nil || strings.Join(strings.Fields(strings.ReplaceAll(string(m[1]), "//", "")), " ") != strings.Join(names, ", ") {
		t.Errorf("cmd/eni-failover's doc lists %q, want %q", m, strings.Join(names, ", "))
	}
}
