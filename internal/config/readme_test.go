package config

import (
	"os"
	"strings"
	"testing"

	"github.com/eni-failover/eni-failover/internal/probeconfig"
)

// TestREADMEDocumentsEveryVariable keeps the README's configuration table
// in step with the code.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(append(Vars, DoctorVars...), probeconfig.Vars...) {
		def := "(empty)"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		if row := "| `" + v.Name + "` | " + def + " |"; !strings.Contains(string(b), row) {
			t.Errorf("README lacks the row %q", row)
		}
	}
}
