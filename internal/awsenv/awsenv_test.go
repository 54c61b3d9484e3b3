package awsenv

import (
	"context"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	e, err := Load(env(map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
		"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:6000", "AWS_MAX_ATTEMPTS": "5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if e.Config.Region != "eu-west-1" || e.Config.Retryer().MaxAttempts() != 5 {
		t.Fatalf("config %+v", e.Config)
	}
	creds, err := e.Config.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID" || creds.SessionToken != "token" {
		t.Fatalf("credentials %+v %v", creds, err)
	}
	if *e.Endpoint("ec2") != "http://127.0.0.1:5000" || *e.Endpoint("sns") != "http://127.0.0.1:6000" {
		t.Fatalf("endpoints %s %s", *e.Endpoint("ec2"), *e.Endpoint("sns"))
	}
}

func TestDefaultsAndIgnoredEndpoints(t *testing.T) {
	e, err := Load(env(map[string]string{"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
		"AWS_ENDPOINT_URL": "http://x:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}))
	if err != nil || e.Config.Region != "us-east-1" || e.Endpoint("EC2") != nil || e.Config.Retryer().MaxAttempts() != 3 {
		t.Fatalf("%+v %v", e, err)
	}
}

func TestMissing(t *testing.T) {
	_, err := Load(env(map[string]string{"AWS_MAX_ATTEMPTS": "many", "AWS_ENDPOINT_URL_EC2": "::nope"}))
	for _, want := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_MAX_ATTEMPTS", "not a URL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
}
