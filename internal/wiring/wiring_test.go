package wiring

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/eni-failover/eni-failover/internal/awsenv"
	"github.com/eni-failover/eni-failover/internal/awserr"
)

// TestEC2ClientMakesOneAttempt: EC2 calls are retried in one layer, the
// engine's. A throttled call reaches the endpoint once and comes back as
// a retryable error for the engine to handle.
func TestEC2ClientMakesOneAttempt(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>`))
	}))
	defer srv.Close()
	env, err := awsenv.Load(func(k string) string {
		return map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_ENDPOINT_URL_EC2": srv.URL}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = newEC2(env).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if !awserr.IsRetryable(err) {
		t.Fatalf("error %v: want a retryable throttling error", err)
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests for one call, want 1: the engine is the only retry layer", n)
	}
}
