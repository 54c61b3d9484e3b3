// Package strictjson decodes JSON that people type: one value and nothing
// after it, no key twice in an object, and every key spelled exactly as
// the target struct's json tag. encoding/json takes the last of duplicate
// keys and matches keys case-insensitively, so {"action":"plan",
// "action":"move"} would move and {"InstanceIDs": [...]} would pass for
// "instanceIds".
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Decode checks data and then unmarshals it into v (a pointer). Every
// duplicate and unknown key is reported at once; a syntax error stops the
// check where it is.
func Decode(data []byte, v any) error {
	if err := Check(data, v); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// Check reports what Decode would refuse before unmarshalling: syntax,
// data after the value, and every duplicate or unknown key. It leaves v
// alone.
func Check(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	c := checker{dec: dec}
	if err := c.value(reflect.TypeOf(v), ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return errors.Join(c.problems...)
}

type checker struct {
	dec      *json.Decoder
	problems []error
}

// value reads one value, expected to fit t (nil: anything goes, keys are
// still checked for duplicates).
func (c *checker) value(t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := c.dec.Token()
	if err != nil {
		return syntax(path, err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		return c.object(t, path)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; c.dec.More(); i++ {
			if err := c.value(elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		if _, err := c.dec.Token(); err != nil {
			return syntax(path, err)
		}
	}
	return nil
}

func (c *checker) object(t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := map[string]bool{}
	for c.dec.More() {
		tok, err := c.dec.Token()
		if err != nil {
			return syntax(path, err)
		}
		key := tok.(string)
		keyPath := key
		if path != "" {
			keyPath = path + "." + key
		}
		if seen[key] {
			c.problems = append(c.problems, fmt.Errorf("key %q appears twice", keyPath))
		}
		seen[key] = true
		next := elem
		if fields != nil {
			ft, known := fields[key]
			if !known {
				c.problems = append(c.problems, fmt.Errorf("unknown key %q%s", keyPath, suggestion(key, fields)))
			}
			next = ft
		}
		if err := c.value(next, keyPath); err != nil {
			return err
		}
	}
	if _, err := c.dec.Token(); err != nil {
		return syntax(path, err)
	}
	return nil
}

// jsonFields maps each exported field's JSON name to its type.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// suggestion names the known key that differs only in case.
func suggestion(key string, fields map[string]reflect.Type) string {
	for k := range fields {
		if strings.EqualFold(k, key) {
			return fmt.Sprintf(" (keys are case-sensitive: %q)", k)
		}
	}
	return ""
}

func syntax(path string, err error) error {
	at := ""
	if path != "" {
		at = " at " + path
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("invalid JSON%s: it ends too early", at)
	}
	return fmt.Errorf("invalid JSON%s: %w", at, err)
}
