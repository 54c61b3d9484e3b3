package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

func testConfig(endpoint string) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: aws.String(endpoint)}
}

// A mutating action is invoked once even when Lambda throttles it (the
// SDK's retryer would send it again and start a second run); a read is
// retried as usual.
func TestMutatingInvokeIsNeverRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"Type":"User","message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}`))
	}))
	defer srv.Close()
	for _, c := range []struct {
		mutating bool
		want     int32
	}{{true, 1}, {false, 3}} {
		calls.Store(0)
		client := lambdaClient(testConfig(srv.URL), srv.URL, c.mutating)
		_, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("move"), Payload: []byte(`{"action":"move"}`)})
		if err == nil || calls.Load() != c.want {
			t.Errorf("mutating %v: %d calls (want %d), err %v", c.mutating, calls.Load(), c.want, err)
		}
	}
}

// The operator is the caller's IAM identity as STS answers it, and the
// local user@host when STS cannot be reached.
func TestOperatorFromSTS(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "GetCallerIdentity" {
			http.Error(w, "unexpected call", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
			`<Arn>arn:aws:sts::123456789012:assumed-role/LicenseAdmin/jo</Arn><UserId>AROAEXAMPLE:jo</UserId><Account>123456789012</Account>` +
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`))
	}))
	defer srv.Close()
	if got := operator(context.Background(), testConfig(srv.URL), false); got != "arn:aws:sts::123456789012:assumed-role/LicenseAdmin/jo" {
		t.Errorf("operator from STS: %q", got)
	}
	srv.Close()
	if got := operator(context.Background(), testConfig(srv.URL), false); !strings.Contains(got, "@") || strings.HasPrefix(got, "arn:") {
		t.Errorf("operator without STS: %q", got)
	}
	if got := operator(context.Background(), testConfig("http://127.0.0.1:1"), true); !strings.Contains(got, "@") {
		t.Errorf("operator against a local endpoint: %q", got)
	}
}

// The stack's URL output is preferred over its function name: through the
// URL the caller is verified.
func TestFromStackPrefersTheURL(t *testing.T) {
	outputs := `<Outputs><member><OutputKey>MoveFunctionName</OutputKey><OutputValue>EniFailover-move</OutputValue></member>%s</Outputs>`
	for _, c := range []struct{ extra, name, url string }{
		{`<member><OutputKey>MoveFunctionUrl</OutputKey><OutputValue>https://abc.lambda-url.us-east-1.on.aws/</OutputValue></member>`, "", "https://abc.lambda-url.us-east-1.on.aws/"},
		{"", "EniFailover-move", ""},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			_, _ = w.Write([]byte(`<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>EniFailover</StackName>` +
				strings.Replace(outputs, "%s", c.extra, 1) + `</member></Stacks></DescribeStacksResult></DescribeStacksResponse>`))
		}))
		name, url, err := fromStack(context.Background(), testConfig(srv.URL), "EniFailover")
		srv.Close()
		if err != nil || name != c.name || url != c.url {
			t.Errorf("name %q url %q err %v, want %q %q", name, url, err, c.name, c.url)
		}
	}
}
