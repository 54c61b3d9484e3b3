package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/jsii-runtime-go"

	"github.com/eni-failover/eni-failover/internal/config"
)

// commandDocuments are the stack's own SSM Command documents, one per
// configured command list, by the environment variable that names it to
// the functions. The commands live in the documents, not in the functions'
// environment, and the roles may send these documents alone: whoever may
// change a function's configuration cannot choose what runs as root on the
// token servers.
type commandDocuments map[string]*string

// commandDocuments creates a document for each configured list.
func (s *EniFailoverStack) commandDocuments(cfg Config) commandDocuments {
	docs := commandDocuments{}
	for _, d := range []struct {
		id, variable, purpose string
		commands              []string
		windows               bool
	}{
		{"ActivationDocument", config.EnvActivationDocument, "activate the token server on a new holder", cfg.ActivationCommands, false},
		{"ActivationDocumentWindows", config.EnvWindowsActivationDoc, "activate the token server on a new Windows holder", cfg.ActivationCommandsWindows, true},
		{"DeepCheckDocument", config.EnvDeepCheckDocument, "deep check of the token server on the holder", cfg.DeepCheckCommands, false},
		{"DeepCheckDocumentWindows", config.EnvWindowsDeepCheckDoc, "deep check of the token server on a Windows holder", cfg.DeepCheckCommandsWindows, true},
	} {
		if len(d.commands) == 0 {
			continue
		}
		doc := awsssm.NewCfnDocument(s.Stack, jsii.String(d.id), &awsssm.CfnDocumentProps{
			DocumentType:   jsii.String("Command"),
			DocumentFormat: jsii.String("JSON"),
			Content:        documentContent("eni-failover: "+d.purpose, d.commands, d.windows),
		})
		docs[d.variable] = doc.Ref()
	}
	return docs
}

// documentContent is a Command document (schema 2.2) that runs commands
// with a shell, or PowerShell on Windows, within executionTimeout seconds,
// which the functions pass with each run (their budget).
func documentContent(description string, commands []string, windows bool) map[string]any {
	action := "aws:runShellScript"
	if windows {
		action = "aws:runPowerShellScript"
	}
	return map[string]any{
		"schemaVersion": "2.2",
		"description":   description,
		"parameters": map[string]any{
			"executionTimeout": map[string]any{
				"type": "String", "default": "60", "allowedPattern": "^[0-9]{1,5}$",
				"description": "Seconds the commands may run",
			},
		},
		"mainSteps": []any{map[string]any{
			"action": action, "name": "run",
			"inputs": map[string]any{"runCommand": commands, "timeoutSeconds": "{{ executionTimeout }}"},
		}},
	}
}
