package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// IAM in the loop: moto enforces IAM once its count of unauthenticated
// actions (INITIAL_NO_AUTH_ACTION_COUNT, reset with /moto-api/reset-auth)
// is used up. Each world creates, while that count is open, an admin for
// the harness and one user per function carrying exactly the actions the
// CDK app grants that function's role (testdata/iam-actions.json, kept
// equal to the synthesized stack by the infra tests), then closes it. The
// functions sign with placeholder keys that the strict EC2 proxy re-signs
// with their user's keys. moto checks actions, not resources or
// conditions: those are held against the Service Authorization Reference
// by the infra tests.

// Placeholder access keys: the harness's and each function's.
const (
	adminKey     = "AKIAE2EADMIN00000000"
	placeholder  = "placeholder-secret"
	functionKeyF = "AKIAE2E%s"
)

func functionKey(name string) string {
	return strings.ToUpper(fmt.Sprintf(functionKeyF, name))
}

// grantedActions reads the actions of each function's role.
func grantedActions() (map[string][]string, error) {
	b, err := os.ReadFile("testdata/iam-actions.json")
	if err != nil {
		return nil, err
	}
	var m map[string][]string
	return m, json.Unmarshal(b, &m)
}

// motoAuth sets how many more actions moto serves without checking IAM:
// "inf" (the default of a fresh moto) or "0" (enforce from now on).
func motoAuth(count string) error {
	resp, err := http.Post(motoURL+"/moto-api/reset-auth", "text/plain", strings.NewReader(count))
	if err != nil {
		return fmt.Errorf("moto reset-auth %s: %w", count, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto reset-auth %s: %s", count, resp.Status)
	}
	return nil
}

var (
	xmlAccessKeyID = regexp.MustCompile(`<AccessKeyId>([^<]+)</AccessKeyId>`)
	xmlSecret      = regexp.MustCompile(`<SecretAccessKey>([^<]+)</SecretAccessKey>`)
)

// iamCall makes one IAM query call while moto does not check IAM.
func iamCall(params url.Values) (string, error) {
	params.Set("Version", "2010-05-08")
	req, _ := http.NewRequest(http.MethodPost, motoURL+"/", strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Unsigned calls are served while auth is open; the scope routes it.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("iam %s: %w", params.Get("Action"), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("iam %s: %s: %s", params.Get("Action"), resp.Status, body)
	}
	return string(body), nil
}

// motoNames are the names moto checks for actions it names otherwise
// than IAM: CloudWatch by its endpoint prefix (monitoring:), Lambda's
// InvokeFunction by its API operation (Invoke).
var motoNames = map[string]string{"lambda:InvokeFunction": "lambda:Invoke"}

// asMotoChecks adds, to the actions IAM knows, the names moto checks.
func asMotoChecks(actions []string) []string {
	out := append([]string{}, actions...)
	for _, a := range actions {
		if alias, ok := motoNames[a]; ok {
			out = append(out, alias)
		}
		if rest, ok := strings.CutPrefix(a, "cloudwatch:"); ok {
			out = append(out, "monitoring:"+rest)
		}
	}
	return out
}

// createUser makes a user with one inline policy allowing actions on "*"
// and returns its access key.
func createUser(name string, actions []string) (aws.Credentials, error) {
	if _, err := iamCall(url.Values{"Action": {"CreateUser"}, "UserName": {name}}); err != nil {
		return aws.Credentials{}, err
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Effect": "Allow", "Action": asMotoChecks(actions), "Resource": "*"},
	}})
	if _, err := iamCall(url.Values{"Action": {"PutUserPolicy"}, "UserName": {name}, "PolicyName": {name}, "PolicyDocument": {string(doc)}}); err != nil {
		return aws.Credentials{}, err
	}
	out, err := iamCall(url.Values{"Action": {"CreateAccessKey"}, "UserName": {name}})
	if err != nil {
		return aws.Credentials{}, err
	}
	id, secret := xmlAccessKeyID.FindStringSubmatch(out), xmlSecret.FindStringSubmatch(out)
	if id == nil || secret == nil {
		return aws.Credentials{}, fmt.Errorf("iam CreateAccessKey for %s: no key in %s", name, out)
	}
	return aws.Credentials{AccessKeyID: id[1], SecretAccessKey: secret[1], Source: "moto IAM user " + name}, nil
}

// enforceIAM creates the admin and the functions' users, maps their
// placeholder keys in the proxy, and lets moto check IAM from then on.
// removed, when set, is an action left out of every function's user.
func enforceIAM(removed string) error {
	if err := motoAuth("inf"); err != nil {
		return err
	}
	admin, err := createUser("e2e-admin", []string{"*"})
	if err != nil {
		return err
	}
	strict.SetAdmin(admin)
	strict.MapKey(adminKey, admin)
	granted, err := grantedActions()
	if err != nil {
		return err
	}
	for _, name := range []string{"failover", "move", "probe"} {
		var actions []string
		for _, a := range granted[name] {
			if a != removed {
				actions = append(actions, a)
			}
		}
		if len(actions) == 0 {
			return fmt.Errorf("no actions granted to %s in testdata/iam-actions.json", name)
		}
		creds, err := createUser("e2e-"+name, actions)
		if err != nil {
			return err
		}
		strict.MapKey(functionKey(name), creds)
	}
	return motoAuth("0")
}
