package odata

import (
	"math"
	"strings"
	"testing"
	"time"
)

// props is a test entity.
type props map[string]Value

func (p props) Property(name string) (Value, bool) { v, ok := p[name]; return v, ok }

var customer = props{
	"PartitionKey": StringValue("Customer"),
	"RowKey":       StringValue("Name's"),
	"Age":          Int32Value(23),
	"Orders":       Int64Value(255),
	"AmountDue":    DoubleValue(200.23),
	"IsActive":     BoolValue(true),
	"Code":         Value{Type: Guid, Str: "c9da6455-213d-42c9-9a79-3e9149a57833"},
	"Since":        DateTimeValue(time.Date(2008, 7, 10, 0, 0, 0, 0, time.UTC)),
	"Blob":         BinaryValue([]byte{0xde, 0xad}),
	"Nan":          DoubleValue(math.NaN()),
}

func TestFilterMatch(t *testing.T) {
	cases := []struct {
		filter string
		want   bool
	}{
		{"PartitionKey eq 'Customer'", true},
		{"PartitionKey eq 'customer'", false},
		{"RowKey eq 'Name''s'", true},
		{"Age gt 20 and Age lt 30", true},
		{"Age ge 23 and Age le 23", true},
		{"Age ne 23", false},
		{"Age eq 23L", true},
		{"Age eq 23.0", true},
		{"Orders eq 255L", true},
		{"Orders gt 254", true},
		{"AmountDue gt 200.2", true},
		{"AmountDue lt 2.0023e2", false},
		{"IsActive", true},
		{"IsActive eq true", true},
		{"not IsActive", false},
		{"IsActive eq false or Age eq 23", true},
		{"not (Age eq 23)", false},
		{"not (Age eq 22) and (PartitionKey eq 'Customer' or PartitionKey eq 'x')", true},
		{"Code eq guid'C9DA6455-213D-42C9-9A79-3E9149A57833'", true},
		{"Since eq datetime'2008-07-10T00:00:00Z'", true},
		{"Since lt datetime'2008-07-10T00:00:00.0000001Z'", true},
		{"Since gt datetime'2008-07-09T23:00:00-02:00'", false},
		{"Blob eq X'dead'", true},
		{"Blob eq binary'DEAD'", true},
		{"Blob gt X'de'", true},
		// missing properties and mismatched types are unknown: never true,
		// and not of unknown is still unknown
		{"Missing eq 1", false},
		{"Missing ne 1", false},
		{"not (Missing eq 1)", false},
		{"Missing eq 1 or Age eq 23", true},
		{"Age eq '23'", false},
		{"not (Age eq '23')", false},
		{"Nan eq Nan", false},
		{"'A' lt PartitionKey", true},
		{"true", true},
		{"false or (true and not false)", true},
		{"PartitionKey eq 'Customer' AND Age EQ 23", true},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.filter)
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		if got := f.Match(customer); got != c.want {
			t.Errorf("%s: got %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	for _, s := range []string{
		"", "   ", "Age eq", "eq 5", "(Age eq 5", "Age eq 5)", "Age eq 'x", "Age eq 5 eq 6",
		"'x'", "5", "Age eq 1.", "Age eq 1e", "Age eq 99999999999999999999",
		"Age eq 1.5L", "Since eq datetime'yesterday'", "Code eq guid'xyz'", "Blob eq X'zz'",
		"Age eq foo'1'", "Age eq 5 or", "not", "not 5", "Age eq null", "Age # 5", "and",
		"startswith(PartitionKey, 'a')", "Age eq 5x", strings.Repeat("(", 100) + "true" + strings.Repeat(")", 100),
		strings.Repeat("not ", 100) + "true",
	} {
		if _, err := ParseFilter(s); err == nil {
			t.Errorf("%q parsed without error", s)
		}
	}
}

func TestFilterRange(t *testing.T) {
	cases := []struct {
		filter, prop string
		lo, hi       string
		exact, empty bool
	}{
		{"PartitionKey eq 'p'", "PartitionKey", "p", "p", true, false},
		{"PartitionKey eq 'p' and RowKey ge 'a' and RowKey lt 'b'", "RowKey", "a", "b", false, false},
		{"'b' gt RowKey and RowKey ge 'a'", "RowKey", "a", "b", false, false},
		{"PartitionKey eq 'p' or PartitionKey eq 'q'", "PartitionKey", "", "", false, false},
		{"not (PartitionKey eq 'p')", "PartitionKey", "", "", false, false},
		{"PartitionKey eq 'p' and PartitionKey eq 'q'", "PartitionKey", "q", "p", false, true},
		{"PartitionKey eq 5", "PartitionKey", "", "", false, true},
		{"(PartitionKey ge 'a' and Age eq 1) and PartitionKey le 'c'", "PartitionKey", "a", "c", false, false},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		r := f.Range(c.prop)
		if r.Lo != c.lo || r.Hi != c.hi || r.Empty() != c.empty {
			t.Errorf("%s: range %+v", c.filter, r)
		}
		if _, ok := r.Exact(); ok != c.exact {
			t.Errorf("%s: exact %v", c.filter, ok)
		}
	}
}

// TestRangeIsSound checks that every entity a filter matches lies in the
// range derived from it, over a grid of keys.
func TestRangeIsSound(t *testing.T) {
	keys := []string{"", "a", "a'", "ab", "b", "c", "p", "q", "z"}
	filters := []string{
		"RowKey ge 'a' and RowKey lt 'c'", "RowKey gt 'a' and RowKey le 'p'", "RowKey eq 'b'",
		"RowKey lt 'b' and (Age eq 1 or RowKey eq 'z')", "'c' le RowKey",
	}
	for _, fs := range filters {
		f, _ := ParseFilter(fs)
		r := f.Range("RowKey")
		for _, k := range keys {
			e := props{"RowKey": StringValue(k), "Age": Int32Value(1)}
			if f.Match(e) && !r.Contains(k) {
				t.Errorf("%s matches %q outside %+v", fs, k, r)
			}
		}
	}
}

func TestValueFormats(t *testing.T) {
	for in, want := range map[float64]string{1: "1.0", -2.5: "-2.5", 1e21: "1e+21", 0.1: "0.1"} {
		if got := FormatDouble(in); got != want {
			t.Errorf("FormatDouble(%v) = %s", in, got)
		}
	}
	tk, err := ParseDateTime("2013-08-22T01:12:06.2608595Z")
	if err != nil || FormatTimestamp(tk) != "2013-08-22T01:12:06.2608595Z" || FormatDateTime(tk) != "2013-08-22T01:12:06.2608595Z" {
		t.Fatalf("datetime round trip: %v %s", err, FormatTimestamp(tk))
	}
	tk, _ = ParseDateTime("0001-01-01T00:00:00Z")
	if FormatDateTime(tk) != "0001-01-01T00:00:00Z" {
		t.Fatalf("min datetime: %s", FormatDateTime(tk))
	}
	if _, err := ParseDateTime("10000-01-01T00:00:00Z"); err == nil {
		t.Fatal("year 10000 accepted")
	}
}
