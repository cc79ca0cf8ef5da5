package odata

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Type is an EDM property type.
type Type uint8

// The EDM types Azure Tables stores.
const (
	String Type = iota
	Boolean
	Int32
	Int64
	Double
	DateTime
	Guid
	Binary
)

var typeNames = [...]string{"Edm.String", "Edm.Boolean", "Edm.Int32", "Edm.Int64", "Edm.Double", "Edm.DateTime", "Edm.Guid", "Edm.Binary"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Edm.Unknown(%d)", uint8(t))
}

// ParseType reads an "Edm.X" type name.
func ParseType(name string) (Type, bool) {
	for i, n := range typeNames {
		if n == name {
			return Type(i), true
		}
	}
	return 0, false
}

// Value is one typed property value.
type Value struct {
	Type Type
	Str  string  // String; Guid in lower case; Binary's bytes
	Int  int64   // Int32, Int64, Boolean (0 or 1), DateTime (100 ns ticks since the Unix epoch)
	Num  float64 // Double
}

// Constructors for each type.
func StringValue(s string) Value      { return Value{Type: String, Str: s} }
func Int32Value(n int32) Value        { return Value{Type: Int32, Int: int64(n)} }
func Int64Value(n int64) Value        { return Value{Type: Int64, Int: n} }
func DoubleValue(f float64) Value     { return Value{Type: Double, Num: f} }
func BinaryValue(b []byte) Value      { return Value{Type: Binary, Str: string(b)} }
func DateTimeValue(t time.Time) Value { return Value{Type: DateTime, Int: Ticks(t)} }
func BoolValue(b bool) Value {
	if b {
		return Value{Type: Boolean, Int: 1}
	}
	return Value{Type: Boolean}
}

// Ticks is t in 100 ns units since the Unix epoch, Azure's time resolution.
func Ticks(t time.Time) int64 { return t.Unix()*1e7 + int64(t.Nanosecond()/100) }

// TimeOf turns ticks back into a time.
func TimeOf(ticks int64) time.Time {
	sec, rem := ticks/1e7, ticks%1e7
	if rem < 0 {
		sec, rem = sec-1, rem+1e7
	}
	return time.Unix(sec, rem*100).UTC()
}

// minTicks and maxTicks bound Edm.DateTime: years 1 to 9999.
var (
	minTicks = Ticks(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))
	maxTicks = Ticks(time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC))
)

// ParseDateTime reads an ISO 8601 date-time as clients send it: up to seven
// fractional digits, "Z", an offset, or no zone (taken as UTC).
func ParseDateTime(s string) (int64, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			tk := Ticks(t)
			if tk < minTicks || tk > maxTicks {
				return 0, errors.New("date-time out of range")
			}
			return tk, nil
		}
	}
	return 0, fmt.Errorf("%q is not an ISO 8601 date-time", s)
}

// FormatDateTime writes ticks the way Azure does: UTC, trailing zeros of
// the seven-digit fraction dropped.
func FormatDateTime(ticks int64) string {
	return TimeOf(ticks).Format("2006-01-02T15:04:05.9999999Z")
}

// FormatTimestamp writes ticks with all seven fractional digits, as Azure
// writes an entity's Timestamp.
func FormatTimestamp(ticks int64) string {
	return TimeOf(ticks).Format("2006-01-02T15:04:05.0000000Z")
}

// ParseGuid checks and canonicalises a GUID (lower case, with hyphens).
func ParseGuid(s string) (string, error) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return "", fmt.Errorf("%q is not a GUID", s)
	}
	if _, err := hex.DecodeString(strings.ReplaceAll(s, "-", "")); err != nil {
		return "", fmt.Errorf("%q is not a GUID", s)
	}
	return strings.ToLower(s), nil
}

// FormatDouble writes a double so that JSON readers see a floating-point
// number: integral values keep a ".0".
func FormatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// ParseDouble reads a Double as a JSON string form: a number, or NaN and
// the infinities.
func ParseDouble(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity", "INF":
		return math.Inf(1), nil
	case "-Infinity", "-INF":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a Double", s)
	}
	return f, nil
}

// Base64 is the encoding of Edm.Binary in JSON.
func Base64(b string) string { return base64.StdEncoding.EncodeToString([]byte(b)) }

func numeric(t Type) bool { return t == Int32 || t == Int64 || t == Double }

// Compare orders a and b. ok is false when the two cannot be compared (their
// types differ, or a NaN is involved); such a comparison matches nothing.
// The numeric types compare with one another by value.
func Compare(a, b Value) (c int, ok bool) {
	if a.Type != b.Type {
		if !numeric(a.Type) || !numeric(b.Type) {
			return 0, false
		}
		if a.Type != Double && b.Type != Double {
			return cmp.Compare(a.Int, b.Int), true
		}
		return compareFloat(a.float(), b.float())
	}
	switch a.Type {
	case String, Guid:
		return strings.Compare(a.Str, b.Str), true
	case Binary:
		return bytes.Compare([]byte(a.Str), []byte(b.Str)), true
	case Double:
		return compareFloat(a.Num, b.Num)
	default:
		return cmp.Compare(a.Int, b.Int), true
	}
}

func compareFloat(x, y float64) (int, bool) {
	if math.IsNaN(x) || math.IsNaN(y) {
		return 0, false
	}
	return cmp.Compare(x, y), true
}

func (v Value) float() float64 {
	if v.Type == Double {
		return v.Num
	}
	return float64(v.Int)
}
