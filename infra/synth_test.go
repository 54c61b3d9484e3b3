package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	// jsii prints a banner about Node.js 20's end of life otherwise.
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	os.Exit(m.Run())
}

// synthesized is one synthesized app with the stack's template.
type synthesized struct {
	stack    awscdk.Stack
	template assertions.Template
	json     map[string]any
	dir      string
}

// fakeAssets makes build/<function>/bootstrap stand-ins, so synthesis does
// not need `make build`.
func fakeAssets(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"failover", "move", "probe"} {
		if err := os.MkdirAll(filepath.Join(dir, f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// synth builds the app from a context value, as cdk.json would pass it.
func synth(t *testing.T, ctx map[string]any) synthesized {
	t.Helper()
	if ctx == nil {
		ctx = map[string]any{}
	}
	if _, ok := ctx["assetDir"]; !ok {
		ctx["assetDir"] = fakeAssets(t)
	}
	out := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out), Context: &map[string]interface{}{ContextKey: ctx}})
	if err := Build(app); err != nil {
		t.Fatalf("build: %v", err)
	}
	asm := app.Synth(nil)
	stack := app.Node().FindChild(jsii.String("EniFailover")).(awscdk.Stack)
	var tmpl map[string]any
	b, err := os.ReadFile(filepath.Join(*asm.Directory(), "EniFailover.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	return synthesized{stack: stack, template: assertions.Template_FromStack(stack, nil), json: tmpl, dir: *asm.Directory()}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
