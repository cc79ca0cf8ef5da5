package odata

import (
	"testing"
	"unicode/utf8"
)

// FuzzParseFilter feeds arbitrary text to the parser: it must return an
// error or a filter, never panic or loop, and a parsed filter must evaluate
// on any entity and keep its key range sound.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"PartitionKey eq 'p' and RowKey ge 'a'", "not (Age gt 5L) or IsActive", "Since lt datetime'2008-07-10T00:00:00Z'",
		"Code eq guid'c9da6455-213d-42c9-9a79-3e9149a57833'", "Blob eq X'0aff'", "((true))", "AmountDue le -1.5e3",
		"Name eq 'it''s'", "Age eq 2147483648", "TableName ge 'a' and TableName lt 'b'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		for _, e := range []props{customer, {}, {"RowKey": StringValue(s)}} {
			m := flt.Match(e)
			if rk, ok := e["RowKey"]; ok && m && utf8.ValidString(rk.Str) && !flt.Range("RowKey").Contains(rk.Str) {
				t.Fatalf("%q matches RowKey %q outside its range", s, rk.Str)
			}
		}
	})
}
