package edge

import "testing"

func TestMatchCORS(t *testing.T) {
	rules := []CORSRule{
		{AllowedOrigins: "https://a.example, https://b.example", AllowedMethods: "GET,PUT", AllowedHeaders: "x-ms-meta-*,x-ms-version"},
		{AllowedOrigins: "*", AllowedMethods: "get", AllowedHeaders: "*"},
	}
	for _, c := range []struct {
		origin, method string
		headers        []string
		want           int // index of the matching rule, -1 for none
	}{
		{"https://a.example", "PUT", []string{"X-Ms-Meta-Owner", "x-ms-version"}, 0},
		{"https://b.example", "GET", nil, 0},
		{"https://A.example", "PUT", nil, -1}, // origins are case-sensitive
		{"https://a.example", "PUT", []string{"x-other"}, -1},
		{"https://a.example", "GET", []string{"x-other"}, 1},
		{"https://c.example", "GET", nil, 1},
		{"https://c.example", "DELETE", nil, -1},
	} {
		got := matchCORS(rules, c.origin, c.method, c.headers)
		idx := -1
		for i := range rules {
			if got == &rules[i] {
				idx = i
			}
		}
		if idx != c.want {
			t.Errorf("%s %s %v: rule %d, want %d", c.origin, c.method, c.headers, idx, c.want)
		}
	}
}
