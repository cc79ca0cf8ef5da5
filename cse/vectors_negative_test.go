package cse

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"testing"
)

// wantNegativeErr pins the error class of each rejecting vector.
var wantNegativeErr = map[string]error{
	"neg-blob-v2-a256kw-17-algorithm-unknown":      ErrUnsupported,
	"neg-blob-v2-a256kw-17-metadata-missing":       ErrNotEncrypted,
	"neg-blob-v2-a256kw-17-no-key-no-resolver":     ErrKeyNotFound,
	"neg-blob-v2-a256kw-17-nonce-bitflip":          ErrDecrypt,
	"neg-blob-v2-a256kw-17-protocol-3.0":           ErrUnsupported,
	"neg-blob-v2-a256kw-17-protocol-relabel-2.1":   ErrDecrypt,
	"neg-blob-v2-a256kw-17-resolver-unknown-kid":   ErrKeyNotFound,
	"neg-blob-v2-a256kw-17-tag-bitflip":            ErrDecrypt,
	"neg-blob-v2-a256kw-17-truncated-tag":          ErrDecrypt,
	"neg-blob-v2-a256kw-17-unprefixed-cek":         ErrDecrypt,
	"neg-blob-v2-a256kw-17-wrong-kid":              ErrKeyNotFound,
	"neg-blob-v2-rsaoaep-9437184-swap-regions-0-1": ErrDecrypt,
	"neg-queue-v2-a256kw-ascii-not-json-required":  ErrNotEncrypted,
	"neg-queue-v2-a256kw-ascii-tag-bitflip":        ErrDecrypt,
	"neg-blob-v2-rsaoaep-9437184-drop-last-region": nil, // undetectable
	"neg-blob-v1-a256kw-17-cbc-malleability":       nil, // accepted-corrupted
}

// stored is the mutable stored state of a base vector.
type stored struct {
	meta    string // blob metadata or queue message text
	ct      []byte // blob ciphertext
	hasMeta bool
}

func TestNegativeVectors(t *testing.T) {
	ctx := context.Background()
	dir := vectorDir(t)
	negs := loadVectors(t, "negative")
	if len(negs) != len(wantNegativeErr) {
		t.Errorf("%d negative vectors, %d expectations", len(negs), len(wantNegativeErr))
	}
	for _, n := range negs {
		t.Run(n.ID, func(t *testing.T) {
			base := readVector(t, filepath.Join(dir, n.Service, n.Base+".json"))
			kek := base.kek(t)
			s := stored{meta: base.Stored.Metadata[MetadataKey], hasMeta: true}
			var pt []byte
			if n.Service == "blob" {
				s.ct, pt = base.ciphertextBytes(t), base.plaintextBytes(t)
			} else {
				s.meta = base.Stored.MessageText
			}
			for _, m := range n.Mutations {
				applyMutation(t, &s, m)
			}
			d := &Decrypter{RequireEncryption: n.DecryptContext.RequireEncryption}
			switch n.DecryptContext.Use {
			case "kek":
				d.KEK = kek
			case "resolver":
				d.Resolver = NewKeyRing(kek)
			}

			var got []byte
			var err error
			if n.Service == "blob" {
				got, err = decryptAll(ctx, d, s.meta, s.ct)
			} else {
				var text string
				text, err = d.DecryptQueueMessage(ctx, s.meta)
				got = []byte(text)
			}
			want, known := wantNegativeErr[n.ID]
			if !known {
				t.Fatalf("no expectation for %s", n.ID)
			}
			switch n.Expect {
			case "reject":
				if err == nil || !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
				if len(got) != 0 {
					t.Fatalf("rejected, yet %d bytes of output", len(got))
				}
			case "undetectable":
				// Cut at a region boundary: a clean, shorter plaintext...
				if err != nil || !bytes.Equal(got, pt[:len(got)]) || len(got) >= len(pt) {
					t.Fatalf("got %d bytes, %v", len(got), err)
				}
				// ...unless the caller knows the size: then it is caught.
				bd, err := d.OpenBlob(ctx, s.meta)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadAll(bd.NewReaderSize(bytes.NewReader(s.ct), int64(len(pt)))); !errors.Is(err, ErrDecrypt) {
					t.Fatalf("NewReaderSize: %v", err)
				}
			case "accepted-corrupted":
				if err != nil || len(got) != len(pt) || bytes.Equal(got[:16], pt[:16]) || got[16] != pt[16]^1 {
					t.Fatalf("CBC malleability not as documented: %v", err)
				}
			default:
				t.Fatalf("expect %q", n.Expect)
			}
		})
	}
}

// decryptAll mimics a download: metadata "" when absent, and returns only
// what the reader released before failing.
func decryptAll(ctx context.Context, d *Decrypter, meta string, ct []byte) ([]byte, error) {
	r, err := d.DecryptBlob(ctx, meta, bytes.NewReader(ct))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func applyMutation(t *testing.T, s *stored, m mutation) {
	t.Helper()
	switch m.Op {
	case "flip_bit":
		switch m.Target {
		case "ciphertext":
			s.ct[m.ByteOffset] ^= 1 << m.Bit
		case "EncryptedMessageContents":
			var env map[string]any
			if err := json.Unmarshal([]byte(s.meta), &env); err != nil {
				t.Fatal(err)
			}
			ct := unb64(t, env[envelopeContents].(string))
			ct[m.ByteOffset] ^= 1 << m.Bit
			env[envelopeContents] = base64.StdEncoding.EncodeToString(ct)
			b, _ := json.Marshal(env)
			s.meta = string(b)
		default:
			t.Fatalf("flip_bit target %q", m.Target)
		}
	case "truncate":
		s.ct = s.ct[:len(s.ct)-m.DropLast]
	case "set_metadata_field":
		var doc map[string]any
		if err := json.Unmarshal([]byte(s.meta), &doc); err != nil {
			t.Fatal(err)
		}
		obj := doc
		for _, k := range m.Path[:len(m.Path)-1] {
			obj = obj[k].(map[string]any)
		}
		obj[m.Path[len(m.Path)-1]] = m.Value
		b, _ := json.Marshal(doc)
		s.meta = string(b)
	case "delete_metadata":
		s.meta, s.hasMeta = "", false
	case "swap_regions":
		r := m.RegionLen
		a := bytes.Clone(s.ct[m.A*r : (m.A+1)*r])
		copy(s.ct[m.A*r:(m.A+1)*r], s.ct[m.B*r:(m.B+1)*r])
		copy(s.ct[m.B*r:(m.B+1)*r], a)
	case "truncate_regions":
		s.ct = s.ct[:m.Keep*m.RegionLen]
	case "replace_message_text":
		s.meta = m.Value.(string)
	default:
		t.Fatalf("unknown mutation %q", m.Op)
	}
}

// TestFailClosedWithoutRequire: metadata that is present but not understood
// is an error even with RequireEncryption off (Python 12.15 would return
// the raw ciphertext for an unknown protocol).
func TestFailClosedWithoutRequire(t *testing.T) {
	ctx := context.Background()
	v := readVector(t, filepath.Join(vectorDir(t), "blob", "blob-v2-a256kw-17.json"))
	for _, mut := range []mutation{
		{Op: "set_metadata_field", Path: []string{"EncryptionAgent", "Protocol"}, Value: "3.0"},
		{Op: "set_metadata_field", Path: []string{"EncryptionAgent", "EncryptionAlgorithm"}, Value: "AES_CBC_256"},
		{Op: "set_metadata_field", Path: []string{"EncryptedRegionInfo"}, Value: nil},
		{Op: "set_metadata_field", Path: []string{"EncryptedRegionInfo", "NonceLength"}, Value: 16},
		{Op: "set_metadata_field", Path: []string{"EncryptedRegionInfo", "DataLength"}, Value: 16},
		{Op: "set_metadata_field", Path: []string{"WrappedContentKey", "Algorithm"}, Value: "A128KW"},
		{Op: "replace_message_text", Value: "{not json"},
	} {
		s := stored{meta: v.Stored.Metadata[MetadataKey], ct: v.ciphertextBytes(t)}
		applyMutation(t, &s, mut)
		got, err := decryptAll(ctx, &Decrypter{KEK: v.kek(t)}, s.meta, s.ct)
		if err == nil || len(got) != 0 {
			t.Errorf("%v: %d bytes, %v", mut, len(got), err)
		}
	}
	// Without metadata and without RequireEncryption, data passes through.
	s := stored{ct: v.ciphertextBytes(t)}
	if got, err := decryptAll(ctx, &Decrypter{KEK: v.kek(t)}, "", s.ct); err != nil || !bytes.Equal(got, s.ct) {
		t.Errorf("pass-through: %v", err)
	}
}
