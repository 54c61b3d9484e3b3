package eventpattern

import "testing"

// The cases follow "Amazon EventBridge event patterns" and "Content
// filtering in Amazon EventBridge event patterns".
func TestMatch(t *testing.T) {
	event := `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-1"],
		"detail":{"instance-id":"i-1","state":"stopped","n":5,"entities":[{"entityValue":"arn:aws:ec2:us-east-1:1:instance/i-1"},{"entityValue":"i-2"}]}}`
	cases := []struct {
		pattern string
		want    bool
	}{
		{`{"source":["aws.ec2"]}`, true},
		{`{"source":["aws.health","aws.ec2"]}`, true},
		{`{"source":["aws.health"]}`, false},
		{`{"source":["aws.ec2"],"detail":{"state":["running"]}}`, false},
		{`{"detail":{"state":["stopped","stopping"],"instance-id":["i-1"]}}`, true},
		{`{"detail":{"instance-id":["i-9"]}}`, false},
		{`{"detail":{"missing":["x"]}}`, false},
		{`{"detail":{"missing":[{"exists":false}]}}`, true},
		{`{"detail":{"state":[{"exists":true}]}}`, true},
		{`{"resources":[{"prefix":"arn:aws:ec2:us-east-1:123456789012:instance/"}]}`, true},
		{`{"resources":[{"prefix":"arn:aws:ec2:eu-west-1"}]}`, false},
		{`{"detail":{"entities":{"entityValue":[{"suffix":"i-1"}]}}}`, true},
		{`{"detail":{"entities":{"entityValue":[{"suffix":"i-3"}]}}}`, false},
		{`{"detail":{"state":[{"anything-but":["running"]}]}}`, true},
		{`{"detail":{"state":[{"anything-but":"stopped"}]}}`, false},
		{`{"detail":{"state":[{"anything-but":{"prefix":"stop"}}]}}`, false},
		{`{"detail":{"state":[{"equals-ignore-case":"STOPPED"}]}}`, true},
		{`{"detail":{"state":[{"wildcard":"sto*d"}]}}`, true},
		{`{"detail":{"n":[{"numeric":[">",4,"<=",5]}]}}`, true},
		{`{"detail":{"n":[{"numeric":[">",5]}]}}`, false},
		{`{"$or":[{"source":["x"]},{"detail":{"state":["stopped"]}}]}`, true},
		{`{"$or":[{"source":["x"]},{"detail":{"state":["running"]}}]}`, false},
	}
	for _, c := range cases {
		got, err := Match([]byte(c.pattern), []byte(event))
		if err != nil || got != c.want {
			t.Errorf("%s: got %v err %v, want %v", c.pattern, got, err, c.want)
		}
	}
	for _, bad := range []string{`{"source":"aws.ec2"}`, `{"detail":{"state":[{"cidr":"10.0.0.0/8"}]}}`, `[1]`} {
		if _, err := Match([]byte(bad), []byte(event)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
