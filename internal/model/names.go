package model

import (
	"regexp"
	"strings"
)

// The shapes of EC2 resource ids: a prefix and 8 or 17 hexadecimal digits.
var (
	instanceID = regexp.MustCompile(`^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$`)
	tagPrefix  = regexp.MustCompile(`^[A-Za-z0-9_.:/=+@-]{1,100}$`)
	groupName  = regexp.MustCompile(`^[\p{L}\p{N} _.:/=+@-]{1,256}$`)
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

// ValidGroupName reports whether name can be a group (the value of the
// group tag).
func ValidGroupName(name string) bool { return groupName.MatchString(name) }
