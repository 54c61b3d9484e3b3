// Package clip shortens text that comes from outside (event fields, command
// output, error messages) before it goes into a log line or a response.
package clip

// Text returns s cut to n bytes, with "..." when something was cut. The cut
// falls on a UTF-8 boundary, so the result stays valid text.
func Text(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}
