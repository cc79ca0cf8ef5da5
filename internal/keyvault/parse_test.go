package keyvault

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// RFC 5649 §6 vectors.
func TestKWPVectors(t *testing.T) {
	kek := mustHex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
	for _, v := range []struct{ plain, wrapped string }{
		{"c37b7e6492584340bed12207808941155068f738", "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
		{"466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"},
	} {
		w, err := kwpWrap(kek, mustHex(v.plain))
		if err != nil || !bytes.Equal(w, mustHex(v.wrapped)) {
			t.Fatalf("wrap %s: %x %v", v.plain, w, err)
		}
		p, err := kwpUnwrap(kek, w)
		if err != nil || !bytes.Equal(p, mustHex(v.plain)) {
			t.Fatalf("unwrap %s: %x %v", v.wrapped, p, err)
		}
	}
	key := bytes.Repeat([]byte{7}, 32)
	for n := 1; n <= 70; n++ {
		plain := bytes.Repeat([]byte{byte(n)}, n)
		w, err := kwpWrap(key, plain)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := kwpUnwrap(key, w); err != nil || !bytes.Equal(p, plain) {
			t.Fatalf("length %d round trip", n)
		}
		for i := range w {
			bad := append([]byte(nil), w...)
			bad[i] ^= 0x80
			if _, err := kwpUnwrap(key, bad); err == nil {
				t.Fatalf("length %d: flipped byte %d unwrapped", n, i)
			}
		}
	}
	if _, err := kwpUnwrap(key, make([]byte, 15)); err == nil {
		t.Fatal("short input unwrapped")
	}
}

func TestISODuration(t *testing.T) {
	base := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"P30D":    base.AddDate(0, 0, 30),
		"p1y2m":   base.AddDate(1, 2, 0),
		"P2W":     base.AddDate(0, 0, 14),
		"PT36H":   base.Add(36 * time.Hour),
		"P1DT12H": base.AddDate(0, 0, 1).Add(12 * time.Hour),
		"PT90M":   base.Add(90 * time.Minute),
	} {
		d, err := parseISODuration(in)
		if err != nil || !d.addTo(base).Equal(want) {
			t.Errorf("%s: %v %v", in, d.addTo(base), err)
		}
	}
	for _, bad := range []string{"", "30D", "P", "PT", "P1H", "PT1D", "P-1D", "P1.5D", "P1DT", "PxD", "P9999999D"} {
		if _, err := parseISODuration(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestPolicyValidation(t *testing.T) {
	ok := []string{
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P90D"}}`,
		`{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"notify"}}]}`,
		`{"lifetimeActions":[]}`,
	}
	bad := []string{
		`{"lifetimeActions":[],"attributes":{"expiryTime":"P27D"}}`,
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P6D"},"action":{"type":"Rotate"}}]}`,
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D","timeBeforeExpiry":"P10D"},"action":{"type":"Rotate"}}]}`,
		`{"lifetimeActions":[{"trigger":{},"action":{"type":"Rotate"}}]}`,
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"Explode"}}]}`,
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"Rotate"}},{"trigger":{"timeAfterCreate":"P40D"},"action":{"type":"Rotate"}}]}`,
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P60D"}}`,
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"Notify"}}]}`,
		`not json`,
	}
	for _, p := range ok {
		if _, e := parsePolicy([]byte(p)); e != nil {
			t.Errorf("%s: %v", p, e)
		}
	}
	for _, p := range bad {
		if _, e := parsePolicy([]byte(p)); e == nil || e.Code != "BadParameter" {
			t.Errorf("%s accepted", p)
		}
	}
}

func TestUnpad(t *testing.T) {
	block := func(tail ...byte) []byte { return append(bytes.Repeat([]byte{'x'}, 16-len(tail)), tail...) }
	for _, c := range []struct {
		b  []byte
		n  int
		ok bool
	}{
		{block(1), 15, true}, {block(3, 3, 3), 13, true}, {bytes.Repeat([]byte{16}, 16), 0, true},
		{block(0), 0, false}, {block(2, 3), 0, false}, {block(17), 0, false}, {block(4, 4, 4), 0, false},
	} {
		n, ok := unpad(c.b)
		if ok != c.ok || (ok && n != c.n) {
			t.Errorf("%x: %d %v", c.b, n, ok)
		}
	}
}

func TestMatchRoute(t *testing.T) {
	for _, c := range []struct{ method, path, name, key, version string }{
		{"GET", "/keys", "GetKeys", "", ""},
		{"GET", "/keys/", "GetKeys", "", ""},
		{"GET", "/keys/k1/", "GetKey", "k1", ""},
		{"GET", "/keys/k1", "GetKey", "k1", ""},
		{"GET", "/keys/k1/ABCDEF", "GetKey", "k1", "abcdef"},
		{"POST", "/keys/k1//wrapkey", "WrapKey", "k1", ""},
		{"POST", "/keys/k1/wrapkey", "WrapKey", "k1", ""},
		{"POST", "/keys/k1/v1/unwrapKey", "UnwrapKey", "k1", "v1"},
		{"POST", "/keys/restore", "RestoreKey", "", ""},
		{"PUT", "/keys/restore", "ImportKey", "restore", ""},
		{"DELETE", "/keys/k1/", "DeleteKey", "k1", ""},
		{"GET", "/keys/k1/versions", "GetKeyVersions", "k1", ""},
		{"PUT", "/keys/k1/rotationpolicy", "UpdateKeyRotationPolicy", "k1", ""},
		{"POST", "/deletedkeys/k1/recover", "RecoverDeletedKey", "k1", ""},
		{"POST", "/rng", "GetRandomBytes", "", ""},
	} {
		rt, name, version, _ := matchRoute(c.method, c.path)
		if rt == nil || rt.name != c.name || name != c.key || version != c.version {
			t.Errorf("%s %s: %v %q %q", c.method, c.path, rt, name, version)
		}
	}
	for _, c := range []struct {
		method, path string
		found        bool
	}{{"PATCH", "/keys", true}, {"GET", "/secrets/s1", false}, {"GET", "/keys/bad_name", false}, {"POST", "/keys/k1/v1/explode", false}} {
		if rt, _, _, found := matchRoute(c.method, c.path); rt != nil || found != c.found {
			t.Errorf("%s %s matched %v (found %v)", c.method, c.path, rt, found)
		}
	}
}

func TestResolveHostAndAudience(t *testing.T) {
	s := &Service{opts: Options{Hosts: []string{"localhost", "127.0.0.1", "::1"}, DefaultVault: "default"}}
	s.port.Store(8443)
	for in, want := range map[string][2]string{
		"kv1.localhost:8443": {"kv1", "https://localhost:8443"},
		"KV1.LOCALHOST:8443": {"kv1", "https://localhost:8443"},
		"localhost:8443":     {"default", "https://localhost:8443"},
		"127.0.0.1:8443":     {"default", "https://127.0.0.1:8443"},
		"[::1]:8443":         {"default", "https://[::1]:8443"},
		"kv1.localhost":      {"kv1", "https://localhost"},
	} {
		h, e := s.resolveHost(in)
		if e != nil || h.vault != want[0] || h.resource() != want[1] {
			t.Errorf("%s: %+v %v", in, h, e)
		}
	}
	for _, in := range []string{"evil.example:8443", "a.b.localhost:8443", "x.localhost:8443", "-kv.localhost:8443"} {
		if _, e := s.resolveHost(in); e == nil {
			t.Errorf("%s resolved", in)
		}
	}
	for aud, ok := range map[string]bool{
		"https://vault.azure.net": true, "https://vault.azure.net/": true, "https://localhost:8443": true,
		"https://127.0.0.1:8443/": true, "https://localhost:9999": false, "https://storage.azure.com": false,
		"https://evil.example:8443": false, "http://localhost:8443": false, "localhost:8443": false,
	} {
		if s.audienceOK(aud) != ok {
			t.Errorf("audience %s: want %v", aud, ok)
		}
	}
}
