package strictec2

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/model"
)

// tagChange is a tag written through the proxy, remembered while a
// Describe may not show it yet.
type tagChange struct {
	resource, key, old string
	had                bool // the key existed before, with old
	at                 time.Time
}

// SetTagDelay makes tags written through the proxy stay invisible to
// DescribeNetworkInterfaces for d: "Eventual consistency in the Amazon EC2
// API" (Amazon EC2 Developer Guide) warns that a Describe right after
// CreateTags may not show the tag. 0 shows every write at once.
func (p *Proxy) SetTagDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tagDelay = d
	p.tagChanges = nil
}

// formTags are a CreateTags or DeleteTags call's tags, in order.
func formTags(form url.Values) (keys, values []string) {
	for i := 1; ; i++ {
		k, ok := form[fmt.Sprintf("Tag.%d.Key", i)]
		if !ok {
			return keys, values
		}
		keys = append(keys, k[0])
		values = append(values, form.Get(fmt.Sprintf("Tag.%d.Value", i)))
	}
}

// formList is a list parameter's values: Name.1, Name.2, ...
func formList(form url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := form[fmt.Sprintf("%s.%d", name, i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// changeTags enforces EC2's tag restrictions on CreateTags ("Tag
// restrictions", Amazon EC2 User Guide: a key of at most 128 Unicode
// characters, not starting with aws:, a value of at most 256, at most 50
// tags on a resource), which moto does not, and remembers what a write
// changes while a tag delay is set. nil lets the call through.
func (p *Proxy) changeTags(ctx context.Context, form url.Values) *apiResponse {
	create := form.Get("Action") == "CreateTags"
	keys, values := formTags(form)
	if create {
		for i, k := range keys {
			if msg := model.TagRestriction(k, values[i]); msg != "" {
				return apiError(http.StatusBadRequest, "InvalidParameterValue", msg)
			}
		}
	}
	p.mu.Lock()
	delay := p.tagDelay
	p.mu.Unlock()
	for _, r := range formList(form, "ResourceId") {
		current, err := p.tagsNow(ctx, r)
		if err != nil {
			continue // moto answers for an unknown resource
		}
		if create {
			union := map[string]bool{}
			for k := range current {
				union[k] = true
			}
			for _, k := range keys {
				union[k] = true
			}
			if len(union) > model.MaxTagsPerResource {
				return apiError(http.StatusBadRequest, "TagLimitExceeded",
					fmt.Sprintf("The maximum number of Tags for a resource has been reached (%s: %d)", r, model.MaxTagsPerResource))
			}
		}
		if delay > 0 {
			p.remember(r, current, keys, create)
		}
	}
	return nil
}

// remember records the old values of the keys a write changes; a
// DeleteTags without keys deletes them all.
func (p *Proxy) remember(resource string, current map[string]string, keys []string, create bool) {
	if !create && len(keys) == 0 {
		for k := range current {
			keys = append(keys, k)
		}
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range keys {
		old, had := current[k]
		p.tagChanges = append(p.tagChanges, tagChange{resource: resource, key: k, old: old, had: had, at: now})
	}
}

// tagsNow are a resource's tags as moto holds them.
func (p *Proxy) tagsNow(ctx context.Context, resource string) (map[string]string, error) {
	out, err := p.adminEC2().DescribeTags(ctx, &ec2.DescribeTagsInput{
		Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{resource}}},
	})
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, t := range out.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

var (
	eniID   = regexp.MustCompile(`<networkInterfaceId>([^<]+)</networkInterfaceId>`)
	tagSet  = regexp.MustCompile(`<tagSet/>|<tagSet>.*?</tagSet>`)
	tagItem = regexp.MustCompile(`<item><key>([^<]*)</key><value>([^<]*)</value></item>`)
)

// staleTags rewrites a DescribeNetworkInterfaces answer to show each
// interface's tags as they were before the writes of the last tagDelay.
// Moto lists an interface's elements in order, its networkInterfaceId
// before its tagSet, so each id's stretch of the answer holds its tags.
// p.mu must be held.
func (p *Proxy) staleTags(out []byte) []byte {
	if p.tagDelay <= 0 || len(p.tagChanges) == 0 {
		return out
	}
	now := time.Now()
	fresh := p.tagChanges[:0]
	for _, c := range p.tagChanges {
		if now.Sub(c.at) < p.tagDelay {
			fresh = append(fresh, c)
		}
	}
	p.tagChanges = fresh
	ids := eniID.FindAllSubmatchIndex(out, -1)
	var b bytes.Buffer
	last := 0
	for i, m := range ids {
		end := len(out)
		if i+1 < len(ids) {
			end = ids[i+1][0]
		}
		id := string(out[m[2]:m[3]])
		stretch := tagSet.ReplaceAllFunc(out[m[1]:end], func(set []byte) []byte { return p.asBefore(id, set) })
		b.Write(out[last:m[1]])
		b.Write(stretch)
		last = end
	}
	b.Write(out[last:])
	return b.Bytes()
}

// asBefore is a tagSet with the fresh changes of resource undone, newest
// first, so that the oldest fresh change's old value is what shows.
func (p *Proxy) asBefore(resource string, set []byte) []byte {
	tags := map[string]string{}
	for _, m := range tagItem.FindAllSubmatch(set, -1) {
		tags[string(m[1])] = string(m[2])
	}
	changed := false
	for i := len(p.tagChanges) - 1; i >= 0; i-- {
		c := p.tagChanges[i]
		if c.resource != resource {
			continue
		}
		changed = true
		if c.had {
			tags[c.key] = xmlEscape(c.old)
		} else {
			delete(tags, c.key)
		}
	}
	if !changed {
		return set
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("<tagSet>")
	for _, k := range keys {
		fmt.Fprintf(&b, "<item><key>%s</key><value>%s</value></item>", k, tags[k])
	}
	b.WriteString("</tagSet>")
	return b.Bytes()
}
