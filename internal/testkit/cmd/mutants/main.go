// Command mutants plays the mutants gremlins (github.com/go-gremlins/gremlins)
// reports as NOT COVERED: Go's coverage has no block for a case clause's
// condition, so gremlins never runs the tests against a mutant there,
// though the tests execute it. Each one is applied to a copy of the
// module, the given test packages run, and the mutant counts as killed
// when they fail. `make mutation` runs gremlins, then this, and
// docs/mutation.md reports both.
//
//	go run ./internal/testkit/cmd/mutants -report gremlins-engine.json -dir internal/engine \
//	    -tests ./internal/engine/,./internal/handler/
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/scanner"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// report is the part of gremlins' JSON output (-o) read here.
type report struct {
	Files []struct {
		Name      string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

// swaps are gremlins' mutators on an operator token.
var swaps = map[string]map[token.Token]string{
	"CONDITIONALS_NEGATION": {token.EQL: "!=", token.NEQ: "==", token.LSS: ">=", token.LEQ: ">", token.GTR: "<=", token.GEQ: "<"},
	"CONDITIONALS_BOUNDARY": {token.LSS: "<=", token.LEQ: "<", token.GTR: ">=", token.GEQ: ">"},
	"ARITHMETIC_BASE":       {token.ADD: "-", token.SUB: "+", token.MUL: "/", token.QUO: "*", token.REM: "*"},
	"INVERT_NEGATIVES":      {token.SUB: " "},
	"INCREMENT_DECREMENT":   {token.INC: "--", token.DEC: "++"},
}

func main() {
	reportPath := flag.String("report", "", "gremlins' JSON output (-o)")
	dir := flag.String("dir", "", "the mutated package's directory, relative to the module root")
	tests := flag.String("tests", "", "test packages to run against each mutant, comma separated")
	flag.Parse()
	if err := run(*reportPath, *dir, strings.Split(*tests, ","), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(1)
	}
}

func run(reportPath, dir string, tests []string, out io.Writer) error {
	b, err := os.ReadFile(reportPath)
	if err != nil {
		return err
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("reading %s: %w", reportPath, err)
	}
	work, err := os.MkdirTemp("", "mutants-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := copyModule(".", work); err != nil {
		return err
	}
	killed, lived, odd := 0, 0, 0
	for _, f := range r.Files {
		path := filepath.Join(work, dir, f.Name)
		orig, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range f.Mutations {
			if m.Status != "NOT COVERED" {
				continue
			}
			mutated, ok := mutate(orig, m.Type, m.Line, m.Column)
			where := fmt.Sprintf("%s %s:%d:%d", m.Type, f.Name, m.Line, m.Column)
			if !ok {
				odd++
				fmt.Fprintf(out, "NOT APPLIED %s\n", where)
				continue
			}
			if err := os.WriteFile(path, mutated, 0o644); err != nil {
				return err
			}
			cmd := exec.Command("go", append([]string{"test", "-count=1", "-timeout=5m"}, tests...)...)
			cmd.Dir = work
			res, err := cmd.CombinedOutput()
			switch {
			case err == nil:
				lived++
				fmt.Fprintf(out, "LIVED %s\n", where)
			case strings.Contains(string(res), "[build failed]") || strings.Contains(string(res), "[setup failed]"):
				odd++
				fmt.Fprintf(out, "NOT VIABLE %s\n", where)
			default:
				killed++
				fmt.Fprintf(out, "KILLED %s\n", where)
			}
		}
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "not covered by gremlins: killed %d, lived %d, not applied or not viable %d (%s)\n", killed, lived, odd, time.Now().UTC().Format(time.RFC3339))
	return nil
}

// mutate applies a mutator to the operator token at line:column.
func mutate(src []byte, typ string, line, col int) ([]byte, bool) {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0)
	for {
		pos, tok, _ := s.Scan()
		if tok == token.EOF {
			return nil, false
		}
		p := fset.Position(pos)
		if p.Line != line || p.Column != col {
			continue
		}
		repl, ok := swaps[typ][tok]
		if !ok {
			return nil, false
		}
		off := p.Offset
		return append(append(append([]byte{}, src[:off]...), repl...), src[off+len(tok.String()):]...), true
	}
}

// copyModule copies the module's sources (not .git, not cdk.out) to dst.
func copyModule(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "cdk.out" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, path)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
