package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eni-failover/eni-failover/internal/model"
)

// URLInvoker invokes the move function through its function URL (AWS_IAM
// auth). The request is SigV4-signed with the caller's credentials, so
// Lambda, not the caller, tells the function who called: the operator a
// pause records is verified.
type URLInvoker struct {
	URL, Region string
	Credentials aws.CredentialsProvider
	// HTTP is the client (nil: one that waits as long as the context).
	HTTP *http.Client
}

// Invoke posts the payload and returns the function's answer as Lambda's
// Invoke would: the response, or the function's error (errorType,
// errorMessage) with FunctionError set. One attempt: a mutating action is
// never sent twice by us.
func (u *URLInvoker) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.URL, bytes.NewReader(in.Payload))
	if err != nil {
		return nil, fmt.Errorf("the move function's URL %q: %w", u.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	creds, err := u.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing the request to %s: %w", u.URL, err)
	}
	sum := sha256.Sum256(in.Payload)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, "lambda", u.Region, time.Now()); err != nil {
		return nil, fmt.Errorf("signing the request to %s: %w", u.URL, err)
	}
	client := u.HTTP
	if client == nil {
		client = &http.Client{}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("posting to %s: %w", u.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", u.URL, err)
	}
	out := &lambda.InvokeOutput{StatusCode: int32(resp.StatusCode), Payload: body}
	if resp.StatusCode == http.StatusOK {
		return out, nil
	}
	// The function's own refusals carry its error; Lambda's (a signature
	// or permission refused, throttling) do not.
	var fe struct {
		Type string `json:"errorType"`
	}
	if json.Unmarshal(body, &fe) == nil && fe.Type != "" {
		out.FunctionError = aws.String("Handled")
		return out, nil
	}
	return nil, fmt.Errorf("%s answered %s: %s", u.URL, resp.Status, model.Clip(string(body), 200))
}
