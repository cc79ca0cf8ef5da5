package table

import (
	"encoding/base64"
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
	members, err := scanObject(body)
	if err != nil {
		if ae, ok := err.(*edge.Error); ok {
			return e, false, false, ae
		}
		return e, false, false, errInvalidInput.With("The request body is not a valid JSON object.")
	}
	if err := noDuplicates(members); err != nil {
		return e, false, false, err
	}
	var types map[string]string // property -> its odata.type annotation
	for _, m := range members {
		if name, ok := strings.CutSuffix(m.name, typeSuffix); ok {
			if m.val.kind != jsonString {
				return e, false, false, errInvalidInput.With("The type annotation of %s is not a string.", name)
			}
			if types == nil {
				types = map[string]string{}
			}
			types[name] = m.val.text
		}
	}
	for _, m := range members {
		switch {
		case m.name == "PartitionKey" || m.name == "RowKey":
			if m.val.kind != jsonString {
				return e, false, false, errInvalidInput.With("The %s must be a string.", m.name)
			}
			if m.name == "PartitionKey" {
				e.PartitionKey, hasPK = m.val.text, true
			} else {
				e.RowKey, hasRK = m.val.text, true
			}
			continue
		case m.name == "Timestamp", strings.HasPrefix(m.name, "odata."), strings.HasSuffix(m.name, typeSuffix), m.val.kind == jsonNull:
			continue
		}
		if err := checkPropertyName(m.name); err != nil {
			return e, false, false, err
		}
		v, verr := typedValue(m.val, types[m.name])
		if verr != nil {
			return e, false, false, verr.With("%s Property: %s.", verr.Message, m.name)
		}
		e.Props = append(e.Props, Prop{Name: m.name, Value: v})
		if len(e.Props) > maxProperties {
			return e, false, false, errTooManyProperties
		}
	}
	return e, hasPK, hasRK, nil
}

const typeSuffix = "@odata.type"

// noDuplicates refuses a member name given twice.
func noDuplicates(members []member) error {
	seen := make(map[string]struct{}, len(members))
	for _, m := range members {
		if _, dup := seen[m.name]; dup {
			return errDuplicateProperty
		}
		seen[m.name] = struct{}{}
	}
	return nil
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

// typedValue converts a JSON value to the annotated EDM type, or infers
// one from its JSON form.
func typedValue(val jsonValue, annotation string) (odata.Value, *edge.Error) {
	if annotation == "" {
		switch val.kind {
		case jsonString:
			return stringValue(val.text)
		case jsonBool:
			return odata.BoolValue(val.b), nil
		case jsonNumber:
			if n, err := strconv.ParseInt(val.text, 10, 32); err == nil {
				return odata.Int32Value(int32(n)), nil
			}
			f, err := strconv.ParseFloat(val.text, 64)
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
	// numbers may also arrive as strings (Int64 always does)
	isString, text := val.kind == jsonString, val.text
	numeric := isString || val.kind == jsonNumber
	switch t {
	case odata.String:
		if isString {
			return stringValue(text)
		}
	case odata.Boolean:
		if val.kind == jsonBool {
			return odata.BoolValue(val.b), nil
		}
	case odata.Int32:
		if n, err := strconv.ParseInt(text, 10, 32); numeric && err == nil {
			return odata.Int32Value(int32(n)), nil
		}
	case odata.Int64:
		if n, err := strconv.ParseInt(text, 10, 64); numeric && err == nil {
			return odata.Int64Value(n), nil
		}
	case odata.Double:
		if f, err := odata.ParseDouble(text); numeric && err == nil {
			return odata.DoubleValue(f), nil
		}
	case odata.DateTime:
		if tk, err := odata.ParseDateTime(text); isString && err == nil {
			return odata.Value{Type: odata.DateTime, Int: tk}, nil
		}
	case odata.Guid:
		if g, err := odata.ParseGuid(text); isString && err == nil {
			return odata.Value{Type: odata.Guid, Str: g}, nil
		}
	case odata.Binary:
		if !isString {
			break
		}
		b, err := base64.StdEncoding.DecodeString(text)
		if err == nil && len(b) > maxValueBytes {
			return odata.Value{}, errValueTooLarge
		}
		if err == nil {
			return odata.BinaryValue(b), nil
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
