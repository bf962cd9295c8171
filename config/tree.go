package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

var durationType = reflect.TypeFor[time.Duration]()

// checkTree walks the document as the TOML decoder reads it (tables as
// maps, arrays as slices) beside the Go type it is to be decoded into, and
// reports every unknown key and every value of the wrong type. Above all,
// a time.Duration must be a string with a unit: the decoder would take a
// bare number as nanoseconds, so that reconnect_max = 5 meant 5ns.
func checkTree(key string, v any, t reflect.Type) []*Error {
	if t == durationType {
		return checkDuration(key, v)
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return wrongType(key, v, "a table")
		}
		var errs []*Error
		for k, sub := range m {
			f, ok := fieldByTag(t, k)
			if !ok {
				errs = append(errs, &Error{Key: join(key, k), Err: errors.New("unknown key")})
				continue
			}
			errs = append(errs, checkTree(join(key, k), sub, f.Type)...)
		}
		return errs
	case reflect.Slice, reflect.Array:
		var elems []any
		switch s := v.(type) {
		case []any:
			elems = s
		case []map[string]any:
			for _, m := range s {
				elems = append(elems, m)
			}
		default:
			return wrongType(key, v, "an array")
		}
		var errs []*Error
		for i, e := range elems {
			errs = append(errs, checkTree(fmt.Sprintf("%s[%d]", key, i), e, t.Elem())...)
		}
		return errs
	case reflect.String:
		if _, ok := v.(string); !ok {
			return wrongType(key, v, "a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return wrongType(key, v, "true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, ok := v.(int64); !ok {
			return wrongType(key, v, "an integer")
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case float64, int64:
		default:
			return wrongType(key, v, "a number")
		}
	}
	return nil
}

func checkDuration(key string, v any) []*Error {
	switch d := v.(type) {
	case string:
		if _, err := time.ParseDuration(d); err != nil {
			return []*Error{{Key: key, Err: fmt.Errorf("%q is not a duration such as \"30s\", \"500ms\" or \"2h\"", d)}}
		}
		return nil
	case int64, float64:
		return []*Error{{Key: key, Err: fmt.Errorf("%v is a bare number: write a duration as a string with its unit, such as \"%vs\" or \"%vms\"", d, d, d)}}
	}
	return wrongType(key, v, `a duration such as "30s"`)
}

func wrongType(key string, v any, want string) []*Error {
	return []*Error{{Key: key, Err: fmt.Errorf("want %s, not %s", want, tomlTypeName(v))}}
}

// fieldByTag finds the struct field the decoder fills from key: by its
// toml tag, else by its name, ignoring case as the decoder does, looking
// into untagged embedded structs.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		switch {
		case name == "-":
			continue
		case name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct:
			// The decoder flattens an untagged embedded struct.
			if inner, ok := fieldByTag(f.Type, key); ok {
				return inner, true
			}
			continue
		case name == "":
			name = f.Name
		}
		if name == key || strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func tomlTypeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date"
	}
	return fmt.Sprintf("%T", v)
}
