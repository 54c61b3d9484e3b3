// Package eventpattern matches events against EventBridge event patterns
// as "Amazon EventBridge event patterns" documents them: fields AND, the
// values of an array OR, an event array matching when any of its values
// does, and the comparison operators prefix, suffix, anything-but,
// exists, numeric, equals-ignore-case, wildcard and $or. It stands for
// EventBridge's TestEventPattern where no emulator has one (the strict
// layer of the end-to-end tier) and checks the stack's patterns against
// AWS's documented events at synth time. An operator it does not know is
// an error, never a silent match.
package eventpattern

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// Match reports whether the event matches the pattern (both JSON).
func Match(pattern, event []byte) (bool, error) {
	var p map[string]any
	if err := json.Unmarshal(pattern, &p); err != nil {
		return false, fmt.Errorf("event pattern is not a JSON object: %w", err)
	}
	var e map[string]any
	if err := json.Unmarshal(event, &e); err != nil {
		return false, fmt.Errorf("event is not a JSON object: %w", err)
	}
	return object(p, e)
}

// object matches a pattern object against an event object: every field.
func object(p map[string]any, e map[string]any) (bool, error) {
	for key, want := range p {
		if key == "$or" {
			alts, ok := want.([]any)
			if !ok {
				return false, fmt.Errorf("$or takes an array of patterns")
			}
			matched := false
			for _, alt := range alts {
				m, ok := alt.(map[string]any)
				if !ok {
					return false, fmt.Errorf("$or takes an array of patterns")
				}
				hit, err := object(m, e)
				if err != nil {
					return false, err
				}
				matched = matched || hit
			}
			if !matched {
				return false, nil
			}
			continue
		}
		have, present := e[key]
		hit, err := field(want, have, present)
		if err != nil {
			return false, fmt.Errorf("%s: %w", key, err)
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

// field matches one pattern value (a nested pattern or an array of
// matchers) against the event's value.
func field(want, have any, present bool) (bool, error) {
	switch w := want.(type) {
	case map[string]any:
		if !present {
			return false, nil
		}
		// An array of objects matches when one of them does.
		for _, h := range values(have) {
			if obj, ok := h.(map[string]any); ok {
				hit, err := object(w, obj)
				if err != nil || hit {
					return hit, err
				}
			}
		}
		return false, nil
	case []any:
		for _, m := range w {
			hit, err := matcher(m, have, present)
			if err != nil || hit {
				return hit, err
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("a pattern value must be an object or an array, not %T", want)
}

// values are the event's values at a field: an array's elements, or the
// value alone.
func values(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	return []any{v}
}

// matcher applies one element of a pattern array.
func matcher(m, have any, present bool) (bool, error) {
	op, ok := m.(map[string]any)
	if !ok {
		// A literal: equal to one of the event's values.
		if !present {
			return false, nil
		}
		for _, h := range values(have) {
			if equal(m, h) {
				return true, nil
			}
		}
		return false, nil
	}
	if len(op) != 1 {
		return false, fmt.Errorf("a comparison takes one operator, not %d", len(op))
	}
	for name, arg := range op {
		if name == "exists" {
			want, ok := arg.(bool)
			if !ok {
				return false, fmt.Errorf("exists takes true or false")
			}
			return present == want, nil
		}
		if !present {
			return false, nil
		}
		for _, h := range values(have) {
			hit, err := compare(name, arg, h)
			if err != nil || hit {
				return hit, err
			}
		}
	}
	return false, nil
}

// compare applies a named operator to one event value.
func compare(name string, arg, h any) (bool, error) {
	s, isString := h.(string)
	switch name {
	case "prefix", "suffix":
		want, fold := arg.(string)
		if m, ok := arg.(map[string]any); ok {
			want, fold = m["equals-ignore-case"].(string)
			if !fold {
				return false, fmt.Errorf("%s takes a string or {\"equals-ignore-case\": string}", name)
			}
			s, want = strings.ToLower(s), strings.ToLower(want)
		} else if !fold {
			return false, fmt.Errorf("%s takes a string", name)
		}
		if name == "prefix" {
			return isString && strings.HasPrefix(s, want), nil
		}
		return isString && strings.HasSuffix(s, want), nil
	case "equals-ignore-case":
		want, ok := arg.(string)
		if !ok {
			return false, fmt.Errorf("equals-ignore-case takes a string")
		}
		return isString && strings.EqualFold(s, want), nil
	case "wildcard":
		want, ok := arg.(string)
		if !ok {
			return false, fmt.Errorf("wildcard takes a string")
		}
		re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(want), `\*`, ".*") + "$")
		return isString && re.MatchString(s), nil
	case "anything-but":
		switch a := arg.(type) {
		case []any:
			for _, v := range a {
				if equal(v, h) {
					return false, nil
				}
			}
			return true, nil
		case map[string]any:
			for op, v := range a {
				hit, err := compare(op, v, h)
				return !hit, err
			}
			return false, fmt.Errorf("anything-but takes a value, an array or one operator")
		default:
			return !equal(a, h), nil
		}
	case "numeric":
		return numeric(arg, h)
	}
	return false, fmt.Errorf("operator %q is not supported here", name)
}

// numeric applies [">", 0, "<=", 5]-style comparisons.
func numeric(arg, h any) (bool, error) {
	terms, ok := arg.([]any)
	if !ok || len(terms)%2 != 0 || len(terms) == 0 {
		return false, fmt.Errorf("numeric takes operator and number pairs")
	}
	v, ok := h.(float64)
	if !ok {
		return false, nil
	}
	for i := 0; i < len(terms); i += 2 {
		op, _ := terms[i].(string)
		n, ok := terms[i+1].(float64)
		if !ok {
			return false, fmt.Errorf("numeric: %v is not a number", terms[i+1])
		}
		var hit bool
		switch op {
		case "=":
			hit = v == n
		case "<":
			hit = v < n
		case "<=":
			hit = v <= n
		case ">":
			hit = v > n
		case ">=":
			hit = v >= n
		default:
			return false, fmt.Errorf("numeric: unknown operator %q", op)
		}
		if !hit {
			return false, nil
		}
	}
	return !math.IsNaN(v), nil
}

// equal compares JSON scalars: strings exactly, numbers by value.
func equal(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}
