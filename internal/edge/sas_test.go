package edge

import (
	"net/http"
	"net/url"
	"testing"
)

func FuzzParseSAS(f *testing.F) {
	f.Add("sv=2021-06-08&ss=b&srt=sco&sp=rwdl&se=2099-01-01T00:00:00Z&st=2020-01-01&spr=https,http&sip=127.0.0.1-127.0.0.9&sig=abc%3D")
	f.Add("sv=2026-12-06&sr=b&sp=r&se=2099-01-01&sig=x&rsct=text/plain&si=p1")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		s := parseSAS(q)
		if s == nil {
			return
		}
		accountStringToSign("acct", s)
		for _, ip := range []string{"127.0.0.1:1", "[::1]:2", "bad"} {
			ipAllowed(s.IP, ip)
		}
		parseSASTime(s.Expiry)
	})
}

func TestIPAllowed(t *testing.T) {
	for _, c := range []struct {
		spec, addr string
		want       bool
	}{
		{"127.0.0.1", "127.0.0.1:5", true},
		{"127.0.0.2", "127.0.0.1:5", false},
		{"127.0.0.0-127.0.0.9", "127.0.0.5:5", true},
		{"10.0.0.0-10.0.0.9", "127.0.0.5:5", false},
		{"garbage", "127.0.0.5:5", false},
	} {
		if got := ipAllowed(c.spec, c.addr); got != c.want {
			t.Fatalf("ipAllowed(%q, %q) = %v", c.spec, c.addr, got)
		}
	}
}

func FuzzMetadataNames(f *testing.F) {
	f.Add("x-ms-meta-good", "v")
	f.Add("x-ms-meta-1bad", "v")
	f.Fuzz(func(t *testing.T, name, value string) {
		h := http.Header{}
		h[name] = []string{value}
		m, err := Metadata(h)
		if err != nil {
			return
		}
		for k := range m {
			if !validMetaName(k) {
				t.Fatalf("invalid name %q accepted", k)
			}
		}
	})
}
