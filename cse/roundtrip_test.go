package cse

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func newTestKEK(t testing.TB) *AESKEK {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	k, err := NewAESKEK("local:test-kek", key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// encryptForTest encrypts pt with e and returns ciphertext and metadata.
func encryptForTest(t testing.TB, e *Encrypter, pt []byte) ([]byte, string) {
	t.Helper()
	blob, err := e.EncryptBlob(context.Background(), bytes.NewReader(pt))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := io.ReadAll(blob)
	if err != nil {
		t.Fatal(err)
	}
	return ct, blob.Metadata()
}

func TestBlobRoundTrip(t *testing.T) {
	ctx := context.Background()
	kek := newTestKEK(t)
	const d = DefaultRegionSize
	for _, tc := range []struct {
		name     string
		enc      Encrypter
		protocol string
		region   int
		sizes    []int
	}{
		{"2.0", Encrypter{KEK: kek}, Protocol2_0, d, []int{0, 1, d - 1, d, d + 1, 3 * d, 3*d + 7}},
		{"2.0-explicit-4MiB", Encrypter{KEK: kek, RegionSize: d}, Protocol2_0, d, []int{0, d + 1}},
		{"2.1-1000", Encrypter{KEK: kek, RegionSize: 1000}, Protocol2_1, 1000, []int{0, 1, 999, 1000, 1001, 5000, 5003}},
		{"2.1-16", Encrypter{KEK: kek, RegionSize: MinRegionSize}, Protocol2_1, 16, []int{0, 1, 15, 16, 17, 160, 161}},
		{"1.0", Encrypter{KEK: kek, LegacyProtocol1: true}, Protocol1_0, 0, []int{0, 1, 15, 16, 17, cbcChunk - 1, cbcChunk, cbcChunk + 1, 3*cbcChunk + 5}},
	} {
		for _, n := range tc.sizes {
			t.Run(fmt.Sprintf("%s/%d", tc.name, n), func(t *testing.T) {
				pt := randomBytes(n)
				ct, meta := encryptForTest(t, &tc.enc, pt)
				ed, err := ParseEncryptionData([]byte(meta))
				if err != nil {
					t.Fatal(err)
				}
				checkWrittenMetadata(t, ed, tc.protocol, int64(tc.region))
				wantLen, _ := ed.CiphertextSize(int64(n))
				if int64(len(ct)) != wantLen {
					t.Fatalf("ciphertext %d bytes, want %d", len(ct), wantLen)
				}
				if tc.region > 0 {
					checkPythonNonces(t, ct, tc.region)
				}
				bd, err := (&Decrypter{KEK: kek, RequireEncryption: true}).OpenBlob(ctx, meta)
				if err != nil {
					t.Fatal(err)
				}
				for name, r := range map[string]io.Reader{
					"NewReader":     bd.NewReader(bytes.NewReader(ct)),
					"NewReaderSize": bd.NewReaderSize(bytes.NewReader(ct), int64(n)),
					"one-byte":      bd.NewReader(iotest.OneByteReader(bytes.NewReader(ct[:min(len(ct), 1<<16)]))),
				} {
					got, err := io.ReadAll(r)
					if name == "one-byte" && len(ct) > 1<<16 {
						continue
					}
					if err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("%s: %d bytes, %v", name, len(got), err)
					}
				}
			})
		}
	}
}

func checkWrittenMetadata(t *testing.T, ed *EncryptionData, protocol string, region int64) {
	t.Helper()
	if ed.EncryptionAgent.Protocol != protocol || ed.EncryptionMode != EncryptionModeFullBlob ||
		ed.KeyWrappingMetadata["EncryptionLibrary"] != EncryptionLibrary || ed.WrappedContentKey.KeyID != "local:test-kek" {
		t.Fatalf("metadata %s", ed)
	}
	if region > 0 && (ed.EncryptedRegionInfo.DataLength != region || ed.EncryptedRegionInfo.NonceLength != nonceSize) {
		t.Fatalf("region info %s", ed)
	}
	if region > 0 && len(ed.WrappedContentKey.EncryptedKey) != 48 || region == 0 && len(ed.WrappedContentKey.EncryptedKey) != 40 {
		t.Fatalf("wrapped key is %d bytes", len(ed.WrappedContentKey.EncryptedKey))
	}
}

// checkPythonNonces checks region i's nonce is i as a 12-byte big-endian integer.
func checkPythonNonces(t *testing.T, ct []byte, region int) {
	t.Helper()
	r := region + nonceSize + tagSize
	for i := 0; i*r < len(ct); i++ {
		var want [nonceSize]byte
		putNonce(want[:], nonceBigEndian96, uint64(i))
		if !bytes.Equal(ct[i*r:i*r+nonceSize], want[:]) {
			t.Fatalf("region %d nonce %x", i, ct[i*r:i*r+nonceSize])
		}
	}
}

// TestSDKCiphertextLengths pins our 2.0 and 1.0 sizes to the SDK vectors'.
func TestSDKCiphertextLengths(t *testing.T) {
	v2 := &EncryptionData{EncryptionAgent: EncryptionAgent{Protocol: Protocol2_0, EncryptionAlgorithm: AlgorithmAESGCM256},
		EncryptedRegionInfo: &EncryptedRegionInfo{DataLength: DefaultRegionSize, NonceLength: 12},
		WrappedContentKey:   WrappedContentKey{EncryptedKey: []byte{1}}}
	v1 := &EncryptionData{EncryptionAgent: EncryptionAgent{Protocol: Protocol1_0, EncryptionAlgorithm: AlgorithmAESCBC256},
		ContentEncryptionIV: make([]byte, 16), WrappedContentKey: WrappedContentKey{EncryptedKey: []byte{1}}}
	for _, v := range loadVectors(t, "blob") {
		ed := v2
		if v.Protocol == Protocol1_0 {
			ed = v1
		}
		if c, _ := ed.CiphertextSize(v.Plaintext.Length); c != v.Stored.Ciphertext.Length {
			t.Errorf("%s: %d, SDK wrote %d", v.ID, c, v.Stored.Ciphertext.Length)
		}
	}
}

// TestRangesRoundTrip decrypts every (offset, length) of small blobs from
// just the served slice, for 2.1, 2.0 and 1.0.
func TestRangesRoundTrip(t *testing.T) {
	ctx := context.Background()
	kek := newTestKEK(t)
	for _, tc := range []struct {
		name string
		enc  Encrypter
		n    int
		step int
	}{
		{"2.1-16", Encrypter{KEK: kek, RegionSize: 16}, 100, 1},
		{"2.1-16-aligned", Encrypter{KEK: kek, RegionSize: 16}, 96, 1},
		{"1.0", Encrypter{KEK: kek, LegacyProtocol1: true}, 100, 1},
		{"1.0-aligned", Encrypter{KEK: kek, LegacyProtocol1: true}, 96, 1},
		{"2.0", Encrypter{KEK: kek}, DefaultRegionSize + 100, DefaultRegionSize/3 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := randomBytes(tc.n)
			ct, meta := encryptForTest(t, &tc.enc, pt)
			bd, err := (&Decrypter{KEK: kek}).OpenBlob(ctx, meta)
			if err != nil {
				t.Fatal(err)
			}
			c := int64(len(ct))
			offsets := []int{tc.n - 1, tc.n - 2, DefaultRegionSize - 1, DefaultRegionSize}
			for o := 0; o < tc.n; o += tc.step {
				offsets = append(offsets, o)
			}
			for _, o := range offsets {
				if o < 0 || o >= tc.n {
					continue
				}
				for _, l := range []int{1, 2, 15, 16, 17, 33, tc.n - o, tc.n - o + 20} {
					rng, err := bd.CiphertextRange(int64(o), int64(l), c)
					if err != nil {
						t.Fatalf("%d+%d: %v", o, l, err)
					}
					got, err := bd.DecryptRange(ct[rng.First:rng.Last+1], int64(o), int64(l), c)
					if want := pt[o:min(o+l, tc.n)]; err != nil || !bytes.Equal(got, want) {
						t.Fatalf("%d+%d: got %d bytes, want %d, %v", o, l, len(got), len(want), err)
					}
				}
			}
			// Beyond the end.
			if _, err := bd.CiphertextRange(int64(tc.n+32), 1, c); !errors.Is(err, ErrInvalidRange) {
				t.Errorf("range past end: %v", err)
			}
			if _, err := bd.CiphertextRange(0, 0, c); !errors.Is(err, ErrInvalidRange) {
				t.Errorf("empty range: %v", err)
			}
		})
	}
}

func TestQueueRoundTrip(t *testing.T) {
	ctx := context.Background()
	kek := newTestKEK(t)
	for _, legacy := range []bool{false, true} {
		e := &Encrypter{KEK: kek, LegacyProtocol1: legacy, RegionSize: 1000} // RegionSize ignored
		for _, msg := range []string{"x", "Grüße 🔑", strings.Repeat("m", 64<<10)} {
			env, err := e.EncryptQueueMessage(ctx, msg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(env, `{"EncryptedMessageContents": "`) || strings.Contains(env, "EncryptionMode") {
				t.Fatalf("envelope %s", env[:80])
			}
			got, err := (&Decrypter{KEK: kek, RequireEncryption: true}).DecryptQueueMessage(ctx, env)
			if err != nil || got != msg {
				t.Fatalf("legacy=%v: %v", legacy, err)
			}
		}
	}
	// Plain text passes through unless encryption is required.
	for _, text := range []string{"hello", `{"a": 1}`, "aGVsbG8=", "[1,2]"} {
		if got, err := (&Decrypter{KEK: kek}).DecryptQueueMessage(ctx, text); err != nil || got != text {
			t.Errorf("%q: %q, %v", text, got, err)
		}
		if _, err := (&Decrypter{KEK: kek, RequireEncryption: true}).DecryptQueueMessage(ctx, text); !errors.Is(err, ErrNotEncrypted) {
			t.Errorf("%q required: %v", text, err)
		}
	}
	// An envelope that is broken is an error either way.
	if _, err := (&Decrypter{KEK: kek}).DecryptQueueMessage(ctx, `{"EncryptedMessageContents": "AAAA"}`); !errors.Is(err, ErrMalformed) {
		t.Errorf("half envelope: %v", err)
	}
}

func TestEntityRoundTrip(t *testing.T) {
	ctx := context.Background()
	kek := newTestKEK(t)
	entity := map[string]any{
		"PartitionKey": "pk", "RowKey": "rk", "Secret": "s3cr3t", "Empty": "", "Note": "clear",
		"Age": "42", "Age@odata.type": "Edm.Int64", "Flag": true,
	}
	sel := func(pk, rk, name string) bool { return name == "Secret" || name == "Empty" || name == "PartitionKey" }
	enc, err := (&Encrypter{KEK: kek}).EncryptEntity(ctx, entity, sel)
	if err != nil {
		t.Fatal(err)
	}
	if enc["Secret"] == "s3cr3t" || enc["Secret@odata.type"] != edmBinary || enc["PartitionKey"] != "pk" || enc["Note"] != "clear" {
		t.Fatalf("encrypted entity %v", enc)
	}
	ed, err := ParseEncryptionData([]byte(enc[EntityMetadataProperty].(string)))
	if err != nil || ed.EncryptionMode != "" || ed.EncryptionAgent.Protocol != Protocol1_0 || ed.javaTableLayout() {
		t.Fatalf("metadata %v, %v", ed, err)
	}
	got, err := (&Decrypter{KEK: kek, RequireEncryption: true}).DecryptEntity(ctx, enc)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(entity) {
		t.Fatalf("got %v, %v", got, err)
	}
	// Non-string selections are refused.
	for _, name := range []string{"Age", "Flag"} {
		if _, err := (&Encrypter{KEK: kek}).EncryptEntity(ctx, entity, func(_, _, n string) bool { return n == name }); err == nil {
			t.Errorf("encrypting %s succeeded", name)
		}
	}
	// Unencrypted entities pass through unless encryption is required.
	if _, err := (&Decrypter{KEK: kek, RequireEncryption: true}).DecryptEntity(ctx, entity); !errors.Is(err, ErrNotEncrypted) {
		t.Errorf("required: %v", err)
	}
	half := map[string]any{"PartitionKey": "pk", "RowKey": "rk", EntityMetadataProperty: enc[EntityMetadataProperty]}
	if _, err := (&Decrypter{KEK: kek}).DecryptEntity(ctx, half); !errors.Is(err, ErrMalformed) {
		t.Errorf("one reserved property: %v", err)
	}
	// Moving ciphertext to another row breaks the IV derivation.
	moved := bytes.Clone([]byte(enc["RowKey"].(string)))
	enc["RowKey"] = string(moved) + "x"
	if _, err := (&Decrypter{KEK: kek}).DecryptEntity(ctx, enc); err == nil {
		t.Errorf("entity moved to another row decrypted")
	}
}

// TestBlobWriter: plaintext written in uneven pieces comes out as a
// ciphertext the decrypter opens, and a failing destination fails the
// writer.
func TestBlobWriter(t *testing.T) {
	ctx := context.Background()
	kek := newTestKEK(t)
	enc := &Encrypter{KEK: kek, RegionSize: 1000}
	for _, size := range []int{0, 1, 999, 1000, 1001, 7777} {
		pt := randomBytes(size)
		var ct bytes.Buffer
		w, err := enc.EncryptBlobTo(ctx, &ct)
		if err != nil {
			t.Fatal(err)
		}
		for rest := pt; len(rest) > 0; {
			n := min(len(rest), 1+len(rest)%333)
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if int64(ct.Len()) != w.CiphertextSize(int64(size)) {
			t.Fatalf("%d bytes: ciphertext %d, want %d", size, ct.Len(), w.CiphertextSize(int64(size)))
		}
		r, err := (&Decrypter{KEK: kek, RequireEncryption: true}).DecryptBlob(ctx, w.Metadata(), &ct)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: decrypted %d, %v", size, len(got), err)
		}
	}

	failing := errors.New("disk full")
	w, err := enc.EncryptBlobTo(ctx, errWriter{failing})
	if err != nil {
		t.Fatal(err)
	}
	_, werr := w.Write(randomBytes(5000))
	if cerr := w.Close(); !errors.Is(werr, failing) && !errors.Is(cerr, failing) {
		t.Fatalf("a failing destination: write %v, close %v", werr, cerr)
	}
}

type errWriter struct{ err error }

func (e errWriter) Write([]byte) (int, error) { return 0, e.err }
