// Package events embeds the sample events and manual payloads of this
// folder, so tests, the demo and local invocations use the same files.
package events

import (
	"embed"
	"fmt"
	"strings"
)

// Placeholders in the samples: the holder and a second standby, the group.
const (
	HolderPlaceholder  = "i-0123456789abcdef0"
	StandbyPlaceholder = "i-0fedcba9876543210"
	GroupPlaceholder   = "mosek"
)

//go:embed *.json malformed/*.json
var files embed.FS

// Sample returns a sample by file name (e.g. "ec2-state-stopped.json" or
// "malformed/truncated.json") with each old->new replacement applied, so a
// test can point it at its own instance ids.
func Sample(name string, replacements ...string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading sample event %s: %w", name, err)
	}
	if len(replacements)%2 != 0 {
		return nil, fmt.Errorf("sample %s: replacements come in old,new pairs", name)
	}
	return []byte(strings.NewReplacer(replacements...).Replace(string(b))), nil
}

// MustSample is Sample for tests and the demo, where a missing file is a bug.
func MustSample(name string, replacements ...string) []byte {
	b, err := Sample(name, replacements...)
	if err != nil {
		panic(err)
	}
	return b
}

// Names lists the samples under dir ("." or "malformed").
func Names(dir string) []string {
	entries, _ := files.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			name := e.Name()
			if dir != "." {
				name = dir + "/" + name
			}
			out = append(out, name)
		}
	}
	return out
}
