package table

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/odata"
)

// Azure's entity limits.
const (
	maxEntityBytes = 1 << 20
	maxValueBytes  = 64 << 10
	maxKeyBytes    = 1 << 10
	maxProperties  = 252
	maxNameLength  = 255
)

// parseEntity reads an entity body: properties in order, each typed by its
// "name@odata.type" annotation or, without one, by its JSON form (string,
// Int32 for integers in range, Double for other numbers, Boolean). Nulls
// are absent properties; odata.* members and Timestamp are ignored.
// PartitionKey and RowKey are returned as found (ok false when absent).
func parseEntity(body []byte) (e Entity, hasPK, hasRK bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return e, false, false, errInvalidInput.With("The request body is not a JSON object.")
	}
	type raw struct {
		name string
		val  any
	}
	var raws []raw
	types := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return e, false, false, errInvalidInput.With("The request body is not valid JSON.")
		}
		name := t.(string)
		var val any
		if err := dec.Decode(&val); err != nil {
			return e, false, false, errInvalidInput.With("The request body is not valid JSON.")
		}
		if seen[name] {
			return e, false, false, errDuplicateProperty
		}
		seen[name] = true
		switch {
		case strings.HasPrefix(name, "odata."):
		case strings.HasSuffix(name, "@odata.type"):
			s, ok := val.(string)
			if !ok {
				return e, false, false, errInvalidInput.With("The type annotation of %s is not a string.", strings.TrimSuffix(name, "@odata.type"))
			}
			types[strings.TrimSuffix(name, "@odata.type")] = s
		default:
			raws = append(raws, raw{name, val})
		}
	}
	if _, err := dec.Token(); err != nil {
		return e, false, false, errInvalidInput.With("The request body is not valid JSON.")
	}
	// (a further Token call would build an error value for the common case)
	if len(bytes.TrimSpace(body[dec.InputOffset():])) != 0 {
		return e, false, false, errInvalidInput.With("The request body holds more than one JSON value.")
	}
	for _, r := range raws {
		switch r.name {
		case "PartitionKey", "RowKey":
			s, ok := r.val.(string)
			if !ok {
				return e, false, false, errInvalidInput.With("The %s must be a string.", r.name)
			}
			if r.name == "PartitionKey" {
				e.PartitionKey, hasPK = s, true
			} else {
				e.RowKey, hasRK = s, true
			}
			continue
		case "Timestamp":
			continue
		}
		if r.val == nil {
			continue
		}
		if err := checkPropertyName(r.name); err != nil {
			return e, false, false, err
		}
		v, verr := typedValue(r.val, types[r.name])
		if verr != nil {
			return e, false, false, verr.With("%s Property: %s.", verr.Message, r.name)
		}
		e.Props = append(e.Props, Prop{Name: r.name, Value: v})
	}
	if len(e.Props) > maxProperties {
		return e, false, false, errTooManyProperties
	}
	return e, hasPK, hasRK, nil
}

func checkPropertyName(n string) error {
	if len(n) > maxNameLength {
		return errPropertyNameLong
	}
	for i, r := range n {
		if !(r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r)) {
			return errPropertyNameInvalid.With("The property name is invalid. Property: %s.", n)
		}
	}
	return nil
}

// typedValue converts a decoded JSON value to the annotated EDM type, or
// infers one.
func typedValue(val any, annotation string) (odata.Value, *edge.Error) {
	if annotation == "" {
		switch v := val.(type) {
		case string:
			return stringValue(v)
		case bool:
			return odata.BoolValue(v), nil
		case json.Number:
			if n, err := strconv.ParseInt(string(v), 10, 32); err == nil {
				return odata.Int32Value(int32(n)), nil
			}
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil || math.IsInf(f, 0) {
				return odata.Value{}, errInvalidType
			}
			return odata.DoubleValue(f), nil
		}
		return odata.Value{}, errInvalidType
	}
	t, ok := odata.ParseType(annotation)
	if !ok {
		return odata.Value{}, errInvalidInput.With("The type annotation %q is not an EDM type.", annotation)
	}
	s, isString := val.(string)
	num, isNumber := val.(json.Number)
	// numbers may also arrive as strings (Int64 always does)
	text := s
	if isNumber {
		text = string(num)
	}
	switch t {
	case odata.String:
		if isString {
			return stringValue(s)
		}
	case odata.Boolean:
		if b, ok := val.(bool); ok {
			return odata.BoolValue(b), nil
		}
	case odata.Int32:
		if isNumber || isString {
			if n, err := strconv.ParseInt(text, 10, 32); err == nil {
				return odata.Int32Value(int32(n)), nil
			}
		}
	case odata.Int64:
		if isNumber || isString {
			if n, err := strconv.ParseInt(text, 10, 64); err == nil {
				return odata.Int64Value(n), nil
			}
		}
	case odata.Double:
		if isNumber || isString {
			if f, err := odata.ParseDouble(text); err == nil {
				return odata.DoubleValue(f), nil
			}
		}
	case odata.DateTime:
		if isString {
			if tk, err := odata.ParseDateTime(s); err == nil {
				return odata.Value{Type: odata.DateTime, Int: tk}, nil
			}
		}
	case odata.Guid:
		if isString {
			if g, err := odata.ParseGuid(s); err == nil {
				return odata.Value{Type: odata.Guid, Str: g}, nil
			}
		}
	case odata.Binary:
		if isString {
			b, err := base64.StdEncoding.DecodeString(s)
			if err == nil && len(b) <= maxValueBytes {
				return odata.BinaryValue(b), nil
			}
			if err == nil {
				return odata.Value{}, errValueTooLarge
			}
		}
	}
	return odata.Value{}, errInvalidType
}

func stringValue(s string) (odata.Value, *edge.Error) {
	if utf16Len(s)*2 > maxValueBytes {
		return odata.Value{}, errValueTooLarge
	}
	return odata.StringValue(s), nil
}

// utf16Len counts UTF-16 code units, the measure of Azure's string limits.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// checkKey applies Azure's rules for PartitionKey and RowKey values.
func checkKey(name, v string) error {
	if utf16Len(v)*2 > maxKeyBytes {
		return errKeyOutOfRange.With("The '%s' parameter of value '%s' is out of range.", name, v)
	}
	if !utf8.ValidString(v) {
		return errKeyOutOfRange.With("The '%s' parameter is not valid UTF-8.", name)
	}
	for _, r := range v {
		if r == '/' || r == '\\' || r == '#' || r == '?' || r < 0x20 || r >= 0x7f && r <= 0x9f {
			return errKeyOutOfRange.With("The '%s' parameter of value '%s' is out of range.", name, v)
		}
	}
	return nil
}

// entitySize is Azure's size formula for an entity.
func entitySize(e *Entity) int {
	n := 4 + utf16Len(e.PartitionKey)*2 + 2 + utf16Len(e.RowKey)*2 + 2
	for _, p := range e.Props {
		n += 8 + utf16Len(p.Name)*2 + 2
		switch p.Value.Type {
		case odata.String:
			n += utf16Len(p.Value.Str)*2 + 4
		case odata.Binary:
			n += len(p.Value.Str) + 4
		case odata.Guid:
			n += 16
		case odata.Boolean:
			n++
		case odata.Int32:
			n += 4
		default:
			n += 8
		}
	}
	return n
}
