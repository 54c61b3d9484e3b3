package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// The template assertions of the CDK report a mismatch by panicking with
// the closest candidate; these helpers turn that into a test error.

func try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

type (
	obj = map[string]any
	arr = []any
)

func like(o obj) assertions.Matcher    { return assertions.Match_ObjectLike(&o) }
func with(a ...any) assertions.Matcher { return assertions.Match_ArrayWith(&a) }
func matches(re string) assertions.Matcher {
	return assertions.Match_StringLikeRegexp(jsii.String(re))
}
func absent() assertions.Matcher   { return assertions.Match_Absent() }
func anyValue() assertions.Matcher { return assertions.Match_AnyValue() }

// ref matches {"Ref": "<logical id starting with id>"}.
func ref(id string) assertions.Matcher { return like(obj{"Ref": matches("^" + id)}) }

// getAtt matches {"Fn::GetAtt": ["<logical id starting with id>", attr]}.
func getAtt(id, attr string) assertions.Matcher {
	return like(obj{"Fn::GetAtt": arr{matches("^" + id), attr}})
}

// stackNameJoin matches the Fn::Join that CDK makes of the stack name and a
// suffix ("${AWS::StackName}-failover").
func stackNameJoin(suffix string) obj {
	return obj{"Fn::Join": arr{"", arr{obj{"Ref": "AWS::StackName"}, suffix}}}
}

// has: some resource of type typ has properties like props.
func (s synthesized) has(t *testing.T, typ string, props any) {
	t.Helper()
	if err := try(func() { s.template.HasResourceProperties(jsii.String(typ), props) }); err != nil {
		t.Errorf("no %s like that: %v", typ, err)
	}
}

// hasResource: some resource of type typ is like def (properties and
// attributes such as DeletionPolicy).
func (s synthesized) hasResource(t *testing.T, typ string, def any) {
	t.Helper()
	if err := try(func() { s.template.HasResource(jsii.String(typ), def) }); err != nil {
		t.Errorf("no %s like that: %v", typ, err)
	}
}

// count: exactly n resources of type typ have properties like props (nil:
// of type typ at all).
func (s synthesized) count(t *testing.T, typ string, props any, n int) {
	t.Helper()
	err := try(func() {
		if props == nil {
			s.template.ResourceCountIs(jsii.String(typ), jsii.Number(n))
			return
		}
		s.template.ResourcePropertiesCountIs(jsii.String(typ), props, jsii.Number(n))
	})
	if err != nil {
		t.Errorf("%s: %v", typ, err)
	}
}

// find returns the resources of type typ whose properties are like props,
// by logical id.
func (s synthesized) find(typ string, props any) map[string]obj {
	var def any
	if props != nil {
		def = obj{"Properties": props}
	}
	out := map[string]obj{}
	for id, r := range *s.template.FindResources(jsii.String(typ), def) {
		out[id] = *r
	}
	return out
}

// hasOutput: the stack has output id, like def.
func (s synthesized) hasOutput(t *testing.T, id string, def obj) {
	t.Helper()
	if err := try(func() { s.template.HasOutput(jsii.String(id), def) }); err != nil {
		t.Errorf("output %s: %v", id, err)
	}
}

// literal renders a template value for reading: strings as they are,
// Fn::Join joined, Ref and Fn::GetAtt as ${...}. It lets a test read an ARN
// or a command built from intrinsics.
func literal(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, literal(e))
		}
		return strings.Join(parts, ",")
	case map[string]any:
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, e := range j[1].([]any) {
				parts = append(parts, literal(e))
			}
			return strings.Join(parts, j[0].(string))
		}
		if r, ok := x["Ref"]; ok {
			return "${" + literal(r) + "}"
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok {
			return "${" + literal(g[0]) + "." + literal(g[1]) + "}"
		}
		if s, ok := x["Fn::Sub"]; ok {
			return literal(s)
		}
	}
	return fmt.Sprint(v)
}
