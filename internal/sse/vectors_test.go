package sse

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/atrest/atrest/internal/secret"
)

// Frozen vectors: sealed objects of format version 1 that must decrypt
// forever. -write-vectors makes new ones (only when adding a version).
var writeVectors = flag.Bool("write-vectors", false, "write new frozen vectors into testdata")

type vector struct {
	Name       string  `json:"name"`
	KEKHex     string  `json:"kek_hex"` // the raw service-managed KEK
	KeyRef     string  `json:"key_ref"`
	KeyVersion string  `json:"key_version"`
	Binding    Binding `json:"binding"`
	PlainLen   int     `json:"plaintext_length"`
	PlainSHA   string  `json:"plaintext_sha256"`
	SealedFile string  `json:"sealed_file"`
	SealedSHA  string  `json:"sealed_sha256"`
}

type staticResolver struct{ k KEK }

func (s staticResolver) Resolve(src Source, ref, version string) (KEK, error) {
	if src != s.k.Source() || ref != s.k.Ref() || version != s.k.Version() {
		return nil, ErrKeyUnavailable
	}
	return s.k, nil
}

func vectorPlaintext(n int) []byte { return pattern(n) }

func TestFrozenVectorsV1(t *testing.T) {
	dir := filepath.Join("testdata", "v1")
	if *writeVectors {
		writeV1Vectors(t, dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "vectors.json"))
	if err != nil {
		t.Fatalf("frozen vectors missing: %v", err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 4 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		sealed, err := os.ReadFile(filepath.Join(dir, v.SealedFile))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(sealed); hex.EncodeToString(sum[:]) != v.SealedSHA {
			t.Fatalf("%s: sealed file changed", v.Name)
		}
		kb, _ := hex.DecodeString(v.KEKHex)
		kek, err := newGCMKEK(SourceService, v.KeyRef, v.KeyVersion, secret.New(kb))
		if err != nil {
			t.Fatal(err)
		}
		plain, h, err := Open(staticResolver{kek}, v.Binding, sealed)
		if err != nil {
			t.Fatalf("%s: frozen vector no longer opens: %v", v.Name, err)
		}
		if sum := sha256.Sum256(plain); len(plain) != v.PlainLen || hex.EncodeToString(sum[:]) != v.PlainSHA || !bytes.Equal(plain, vectorPlaintext(v.PlainLen)) {
			t.Fatalf("%s: plaintext differs", v.Name)
		}
		if h.KeyRef != v.KeyRef || h.KeyVersion != v.KeyVersion || h.Source != SourceService {
			t.Fatalf("%s: header %+v", v.Name, h)
		}
		// the same bytes under another binding must fail
		other := v.Binding
		other.Object += "x"
		if _, _, err := Open(staticResolver{kek}, other, sealed); err == nil {
			t.Fatalf("%s: opened under another binding", v.Name)
		}
	}
}

func writeV1Vectors(t *testing.T, dir string) {
	os.MkdirAll(dir, 0o755)
	kb := sha256.Sum256([]byte("atrest frozen vector KEK v1"))
	kek, _ := newGCMKEK(SourceService, "account/devstoreaccount1", "1", secret.New(kb[:]))
	cases := []struct {
		name string
		b    Binding
		n    int
	}{
		{"record-small", Binding{Kind: "rec", Object: "b\x00devstoreaccount1\x00c\x00blob\x00~"}, 300},
		{"extent-empty", Binding{Kind: "ext", Account: "devstoreaccount1", Container: "c", Object: "empty", Version: "00112233445566778899aabbccddeeff"}, 0},
		{"extent-one-segment", Binding{Kind: "ext", Account: "devstoreaccount1", Container: "c", Object: "dir/one", Version: "0123456789abcdef0123456789abcdef"}, 1 << DefaultSegmentLog},
		{"extent-multi-segment", Binding{Kind: "ext", Account: "devstoreaccount1", Container: "c", Object: "multi.bin", Version: "fedcba9876543210fedcba9876543210"}, 3<<DefaultSegmentLog + 1234},
	}
	var vs []vector
	for _, c := range cases {
		plain := vectorPlaintext(c.n)
		sealed, err := Seal(kek, c.b, plain)
		if err != nil {
			t.Fatal(err)
		}
		file := c.name + ".sealed"
		os.WriteFile(filepath.Join(dir, file), sealed, 0o644)
		ps, ss := sha256.Sum256(plain), sha256.Sum256(sealed)
		vs = append(vs, vector{Name: c.name, KEKHex: hex.EncodeToString(kb[:]), KeyRef: kek.Ref(), KeyVersion: kek.Version(),
			Binding: c.b, PlainLen: c.n, PlainSHA: hex.EncodeToString(ps[:]), SealedFile: file, SealedSHA: hex.EncodeToString(ss[:])})
	}
	out, _ := json.MarshalIndent(vs, "", "  ")
	os.WriteFile(filepath.Join(dir, "vectors.json"), append(out, '\n'), 0o644)
}
