package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/eni-failover/eni-failover/internal/model"
)

// tagDelay is how long the strict layer keeps a tag write from
// DescribeNetworkInterfaces: "Eventual consistency in the Amazon EC2 API"
// (Amazon EC2 Developer Guide) says a Describe right after CreateTags may
// not show the tag, for a short while.
const tagDelay = 3 * time.Second

// Read after write, through the real bootstraps: with tag writes hidden
// for a few seconds, a pause that has been answered holds against a stop
// at once, and a move request sent twice in a row acts once.
func TestReadAfterWrite(t *testing.T) {
	t.Run("a pause holds as soon as it is answered", func(t *testing.T) {
		w := newWorld(t)
		strict.SetTagDelay(tagDelay)
		if resp, ferr := w.manual(`{"action":"pause","reason":"patching","minutes":30}`); ferr != nil || resp.Outcome != "paused" {
			t.Fatalf("pause: %+v %v", resp, ferr)
		}
		w.stop(w.primary)
		res := w.failover("ec2-state-stopped.json")
		if len(res.Reports) != 1 || res.Reports[0].Outcome != "paused" || w.holder() != w.primary {
			t.Fatalf("stop right after the pause: %+v, ENI on %s", res, w.holder())
		}
	})
	t.Run("a repeated request acts once", func(t *testing.T) {
		w := newWorld(t)
		strict.SetTagDelay(tagDelay)
		first, ferr := w.manual(`{"action":"move","request_id":"read-after-write-1"}`)
		if ferr != nil || first.Outcome != "moved" {
			t.Fatalf("move: %+v %v", first, ferr)
		}
		again, ferr := w.manual(`{"action":"move","request_id":"read-after-write-1"}`)
		if ferr != nil || again.Outcome != "repeat" || w.holder() != first.HolderAfter {
			t.Fatalf("the same request again: %+v %v, ENI on %s (first moved it to %s)", again, ferr, w.holder(), first.HolderAfter)
		}
	})
}

// The strict layer refuses the tags EC2 refuses ("Tag restrictions",
// Amazon EC2 User Guide), which moto accepts: a value over 256 characters
// (counted as characters, not bytes), a key over 128 or starting with aws:,
// a 51st tag on a resource; a value of 256 two-byte characters passes.
func TestStrictLayerEnforcesTagRestrictions(t *testing.T) {
	w := newWorld(t)
	put := func(tags ...types.Tag) error {
		_, err := w.ec2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{w.eni}, Tags: tags})
		return err
	}
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	for name, c := range map[string]struct {
		tag  types.Tag
		code string
	}{
		"value of 257":  {tag("long", strings.Repeat("x", 257)), "InvalidParameterValue"},
		"key of 129":    {tag(strings.Repeat("k", 129), "v"), "InvalidParameterValue"},
		"reserved key":  {tag("aws:owner", "v"), "InvalidParameterValue"},
		"256 two-bytes": {tag("wide", strings.Repeat("ü", 256)), ""},
	} {
		var apiErr smithy.APIError
		err := put(c.tag)
		if (c.code == "") != (err == nil) || (err != nil && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != c.code)) {
			t.Errorf("%s: %v, want %q", name, err, c.code)
		}
	}
	have := len(w.journal())
	var fill []types.Tag
	for i := have; i < model.MaxTagsPerResource; i++ {
		fill = append(fill, tag(fmt.Sprintf("fill-%02d", i), "x"))
	}
	if err := put(fill...); err != nil {
		t.Fatalf("up to 50 tags: %v", err)
	}
	var apiErr smithy.APIError
	if err := put(tag("one-too-many", "x")); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "TagLimitExceeded" {
		t.Fatalf("a 51st tag: %v", err)
	}
}
