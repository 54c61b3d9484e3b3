package strictjson_test

import (
	"strings"
	"testing"

	"github.com/eni-failover/eni-failover/internal/strictjson"
)

type inner struct {
	Ports []int `json:"ports"`
}

type outer struct {
	Action string            `json:"action"`
	IDs    []string          `json:"instanceIds,omitempty"`
	Inner  *inner            `json:"inner"`
	Map    map[string]string `json:"targets"`
	Free   any               `json:"free"`
}

func TestDecode(t *testing.T) {
	var v outer
	if err := strictjson.Decode([]byte(` {"action":"move","instanceIds":["i-1"],"inner":{"ports":[1]},"targets":{"a":"b","A":"c"},"free":{"x":1,"X":2}} `), &v); err != nil {
		t.Fatalf("valid JSON refused: %v", err)
	}
	if v.Action != "move" || v.Inner.Ports[0] != 1 || v.Map["A"] != "c" {
		t.Fatalf("decoded %+v", v)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"duplicate key":         {`{"action":"plan","action":"move"}`, `key "action" appears twice`},
		"nested duplicate":      {`{"inner":{"ports":[1],"ports":[2]}}`, `"inner.ports" appears twice`},
		"duplicate in free map": {`{"free":{"a":1,"a":2}}`, `"free.a" appears twice`},
		"case differs":          {`{"InstanceIds":[]}`, `unknown key "InstanceIds" (keys are case-sensitive: "instanceIds")`},
		"unknown nested key":    {`{"inner":{"port":1}}`, `unknown key "inner.port"`},
		"data after the value":  {`{"action":"plan"} {"action":"move"}`, "data after the JSON value"},
		"garbage after":         {`{"action":"plan"}x`, "data after the JSON value"},
		"syntax error":          {`{"action":`, "JSON"},
		"wrong type":            {`{"action":1}`, "cannot unmarshal"},
	} {
		t.Run(name, func(t *testing.T) {
			var v outer
			err := strictjson.Decode([]byte(tc.in), &v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: error %v, want it to contain %q", tc.in, err, tc.want)
			}
		})
	}
	t.Run("every problem at once", func(t *testing.T) {
		var v outer
		err := strictjson.Decode([]byte(`{"Action":"x","inner":{"port":1},"action":"y","action":"z"}`), &v)
		for _, want := range []string{`"Action"`, `"inner.port"`, `"action" appears twice`} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v lacks %s", err, want)
			}
		}
	})
}
