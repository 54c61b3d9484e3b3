package model

// Clip returns s cut to at most n bytes, ending in "..." when something was
// cut, so that a clipped value still fits where n is a hard limit (a tag
// value, a log field). The cut falls on a UTF-8 boundary, so the result
// stays valid text.
func Clip(s string, n int) string {
	const ellipsis = "..."
	if len(s) <= n {
		return s
	}
	if n <= len(ellipsis) {
		n = len(ellipsis) + 1
	}
	cut := n - len(ellipsis)
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + ellipsis
}
