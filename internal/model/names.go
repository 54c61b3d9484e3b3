package model

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The shapes of EC2 resource ids: a prefix and 8 or 17 hexadecimal digits.
var (
	instanceID = regexp.MustCompile(`^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$`)
	tagPrefix  = regexp.MustCompile(`^[A-Za-z0-9_.:/=+@-]{1,100}$`)
)

// IsInstanceID reports whether s looks like an EC2 instance id.
func IsInstanceID(s string) bool { return instanceID.MatchString(s) }

// ValidTagPrefix reports whether p may prefix eni-failover's tag keys: 1-100
// characters that IAM condition keys accept, and not the reserved aws:.
func ValidTagPrefix(p string) bool {
	return tagPrefix.MatchString(p) && !strings.HasPrefix(strings.ToLower(p), "aws:")
}

// TagPrefixRule says what ValidTagPrefix accepts, for error messages.
const TagPrefixRule = "1-100 characters of letters, digits and _.:/=+@-, not starting with aws:"

// EC2's tag limits ("Tag restrictions", Amazon EC2 User Guide): a key of
// at most 128 Unicode characters, a value of at most 256, at most 50 tags
// on a resource. Every value the engine writes fits by construction.
const (
	MaxTagKey          = 128
	MaxTagValue        = 256
	MaxTagsPerResource = 50
)

// TagRestriction says what EC2 refuses in a tag, as its error message
// ("" when nothing): a key over 128 characters or starting with the
// reserved "aws:", a value over 256. The simulated EC2 and the strict
// layer of the tests answer with it (code InvalidParameterValue).
func TagRestriction(key, value string) string {
	switch {
	case utf8.RuneCountInString(key) > MaxTagKey:
		return fmt.Sprintf("Tag key exceeds the maximum length of %d characters", MaxTagKey)
	case strings.HasPrefix(strings.ToLower(key), "aws:"):
		return "Tag keys starting with 'aws:' are reserved for internal use"
	case utf8.RuneCountInString(value) > MaxTagValue:
		return fmt.Sprintf("Tag value exceeds the maximum length of %d characters", MaxTagValue)
	}
	return ""
}

// ValidGroupName reports whether name can be a group: any value the group
// tag can hold. EC2 takes any character in a tag value, up to 256 Unicode
// characters ("Tag restrictions", Amazon EC2 User Guide); an empty value
// names no group, and control characters are refused as typing slips.
func ValidGroupName(name string) bool {
	n := utf8.RuneCountInString(name)
	return utf8.ValidString(name) && n >= 1 && n <= MaxTagValue && !strings.ContainsFunc(name, unicode.IsControl)
}

// EscapeFilterValue makes v match itself in an EC2 Describe filter, where
// "*" and "?" are wildcards and a backslash escapes the next character:
// group "dup*" must not read group "dup" ("Filter", Amazon EC2 API
// Reference: "\*amazon\?\\ specifies the literal string *amazon?\").
func EscapeFilterValue(v string) string {
	return filterSpecial.Replace(v)
}

var filterSpecial = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`)

var requestID = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// ValidRequestID reports whether id can name a manual request: it is kept
// in a journal tag and must stay one word there.
func ValidRequestID(id string) bool { return requestID.MatchString(id) }

// RequestIDRule says what ValidRequestID accepts, for error messages.
const RequestIDRule = "1-64 characters of letters, digits and _.:- (a UUID fits)"

// groupSafe are the characters every place a group's name goes outside a
// tag accepts: CloudWatch dimension values and alarm names take ASCII
// only ("Dimension", CloudWatch API Reference), security-group rule
// descriptions only these ("SecurityGroupRule", Amazon EC2 API Reference).
const groupSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789. _-:/()#,@[]+=&;{}!$*"

// maxSafeName bounds a rendered name, so that an alarm name (the stack's
// name, "-probe-group-", the group) stays within CloudWatch's 255.
const maxSafeName = 64

// renderedName is what SafeName makes of a name it cannot keep.
var renderedName = regexp.MustCompile(`#[0-9a-f]{8}$`)

// Rendered reports whether s has the form SafeName gives a name it could
// not keep (it ends in "#" and 8 hex digits).
func Rendered(s string) bool { return renderedName.MatchString(s) && SafeName(s) == s }

// SafeName renders a group's name for the places that take less than a
// tag value: the Group dimension of the metrics, the probe alarms' names
// and dimensions, security-group rule descriptions. A name of at most 64
// safe characters, not all blank, is itself. Any other keeps its first
// safe characters (others become "_"), cut to 55, then "#" and 8 hex
// digits of its SHA-256: stable across deploys and sandboxes, and two
// names share a rendering only by a hash collision.
func SafeName(group string) string {
	safe := !strings.ContainsFunc(group, func(r rune) bool { return !strings.ContainsRune(groupSafe, r) })
	if safe && len(group) <= maxSafeName && strings.TrimSpace(group) != "" {
		return group
	}
	b := []byte(strings.Map(func(r rune) rune {
		if strings.ContainsRune(groupSafe, r) {
			return r
		}
		return '_'
	}, group))
	sum := sha256.Sum256([]byte(group))
	return fmt.Sprintf("%s#%x", b[:min(len(b), maxSafeName-9)], sum[:4])
}
