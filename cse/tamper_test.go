package cse

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// Tamper loops over a six-region 2.1 blob (64-byte regions, short last
// region): every alteration must fail with ErrDecrypt, and the only
// plaintext ever released is that of intact regions before the damage.

const tamperRegion = 64

type tamperFixture struct {
	kek  *AESKEK
	pt   []byte
	ct   []byte
	meta string
	bd   *BlobDecryptor
}

func newTamperFixture(t *testing.T) *tamperFixture {
	t.Helper()
	f := &tamperFixture{kek: newTestKEK(t), pt: randomBytes(5*tamperRegion + 17)}
	f.ct, f.meta = encryptForTest(t, &Encrypter{KEK: f.kek, RegionSize: tamperRegion}, f.pt)
	var err error
	if f.bd, err = (&Decrypter{KEK: f.kek}).OpenBlob(context.Background(), f.meta); err != nil {
		t.Fatal(err)
	}
	return f
}

const tamperR = tamperRegion + nonceSize + tagSize

func (f *tamperFixture) regions() [][]byte {
	var rs [][]byte
	for c := f.ct; len(c) > 0; c = c[min(tamperR, len(c)):] {
		rs = append(rs, bytes.Clone(c[:min(tamperR, len(c))]))
	}
	return rs
}

// mustReject decrypts ct fully (unsized and sized) and checks for
// ErrDecrypt with no more than the first goodRegions regions released.
func (f *tamperFixture) mustReject(t *testing.T, what string, ct []byte, goodRegions int) {
	t.Helper()
	for sized, r := range []io.Reader{
		f.bd.NewReader(bytes.NewReader(ct)),
		f.bd.NewReaderSize(bytes.NewReader(ct), int64(len(f.pt))),
	} {
		got, err := io.ReadAll(r)
		if !errors.Is(err, ErrDecrypt) || err.Error() != "cse: decryption failed" {
			t.Fatalf("%s (sized=%d): err = %v", what, sized, err)
		}
		if len(got)%tamperRegion != 0 || len(got) > goodRegions*tamperRegion || !bytes.Equal(got, f.pt[:len(got)]) {
			t.Fatalf("%s: released %d bytes that are not intact regions", what, len(got))
		}
	}
}

func TestTamperBitFlips(t *testing.T) {
	f := newTamperFixture(t)
	for i := range len(f.ct) {
		for _, bit := range []uint{0, 7, uint(i % 8)} {
			ct := bytes.Clone(f.ct)
			ct[i] ^= 1 << bit
			f.mustReject(t, "flip", ct, i/tamperR)
		}
	}
}

func TestTamperRegions(t *testing.T) {
	f := newTamperFixture(t)
	rs := f.regions()
	if len(rs) != 6 {
		t.Fatalf("%d regions", len(rs))
	}
	for a := range rs {
		for b := a + 1; b < len(rs); b++ {
			swapped := slices.Clone(rs)
			swapped[a], swapped[b] = swapped[b], swapped[a]
			f.mustReject(t, "swap", bytes.Join(swapped, nil), a)
		}
		dup := slices.Insert(slices.Clone(rs), a+1, rs[a])
		f.mustReject(t, "duplicate", bytes.Join(dup, nil), a+1)
		if a < len(rs)-1 {
			dropped := slices.Delete(slices.Clone(rs), a, a+1)
			f.mustReject(t, "drop", bytes.Join(dropped, nil), a)
		}
	}
	// Appending: a replayed region, or a region with the right nonce for
	// its position but from another blob (another CEK).
	full := slices.Clone(rs[:5])
	f.mustReject(t, "append replay", bytes.Join(append(slices.Clone(full), rs[0]), nil), 5)
	other := newTamperFixture(t).regions()
	f.mustReject(t, "append foreign", bytes.Join(append(full, other[5]), nil), 5)
	f.mustReject(t, "extend by a byte", append(bytes.Clone(f.ct), 0), 5)
	f.mustReject(t, "cut inside the tag", f.ct[:len(f.ct)-1], 5)
	f.mustReject(t, "cut to nonce+tag", f.ct[:5*tamperR+nonceSize+tagSize], 5)
	f.mustReject(t, "cut inside a region", f.ct[:2*tamperR+10], 2)
	f.mustReject(t, "foreign blob", other[0], 0)
}

// TestTamperTruncateAtBoundary: a cut at a region boundary is invisible to
// the format (every SDK returns the shorter plaintext) but caught when the
// caller knows the size, or when a range read is given the true blob size.
func TestTamperTruncateAtBoundary(t *testing.T) {
	f := newTamperFixture(t)
	for k := 0; k <= 5; k++ {
		cut := f.ct[:k*tamperR]
		got, err := io.ReadAll(f.bd.NewReader(bytes.NewReader(cut)))
		if err != nil || !bytes.Equal(got, f.pt[:k*tamperRegion]) {
			t.Fatalf("keep %d: %d bytes, %v", k, len(got), err)
		}
		if _, err := io.ReadAll(f.bd.NewReaderSize(bytes.NewReader(cut), int64(len(f.pt)))); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("keep %d sized: %v", k, err)
		}
		if k > 0 {
			if _, err := f.bd.DecryptRange(cut[(k-1)*tamperR:], int64((k-1)*tamperRegion), 200, int64(len(f.ct))); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("keep %d range: %v", k, err)
			}
		}
	}
}

func TestTamperRangeReads(t *testing.T) {
	f := newTamperFixture(t)
	c := int64(len(f.ct))
	rs := f.regions()
	// Serve region 3 where region 2 was asked for: nonce out of place.
	for _, served := range [][]byte{rs[3], append(bytes.Clone(rs[3]), rs[4]...), rs[1]} {
		got, err := f.bd.DecryptRange(served, 2*tamperRegion+5, 10, c)
		if !errors.Is(err, ErrDecrypt) || got != nil {
			t.Fatalf("misplaced region: %d bytes, %v", len(got), err)
		}
	}
	for i := 2 * tamperR; i < 3*tamperR; i++ {
		served := bytes.Clone(rs[2])
		served[i-2*tamperR] ^= 0x40
		if got, err := f.bd.DecryptRange(served, 2*tamperRegion, tamperRegion, c); !errors.Is(err, ErrDecrypt) || got != nil {
			t.Fatalf("flip %d: %d bytes, %v", i, len(got), err)
		}
	}
	if _, err := f.bd.DecryptRange(rs[2][:tamperR-1], 2*tamperRegion, 1, c); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("short served range: %v", err)
	}
}

func TestTamperKeys(t *testing.T) {
	ctx := context.Background()
	f := newTamperFixture(t)
	wrongBytes, _ := NewAESKEK(f.kek.KeyID(), randomBytes(32))
	otherID := newTestKEK(t)
	otherID.kid = "local:other"
	impostor := KeyResolverFunc(func(context.Context, string) (KeyEncryptionKey, error) { return otherID, nil })
	for _, tc := range []struct {
		name string
		d    *Decrypter
		want error
	}{
		{"wrong KEK bytes", &Decrypter{KEK: wrongBytes}, ErrDecrypt},
		{"wrong KEK via resolver", &Decrypter{Resolver: NewKeyRing(wrongBytes)}, ErrDecrypt},
		{"wrong key id", &Decrypter{KEK: otherID}, ErrKeyNotFound},
		{"resolver lacks key", &Decrypter{Resolver: NewKeyRing(otherID)}, ErrKeyNotFound},
		{"resolver returns another id", &Decrypter{Resolver: impostor}, ErrKeyNotFound},
		{"no key source", &Decrypter{}, ErrKeyNotFound},
	} {
		if got, err := decryptAll(ctx, tc.d, f.meta, f.ct); !errors.Is(err, tc.want) || got != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// Relabelling the protocol is caught by the prefix inside the wrapped key.
	ed, _ := ParseEncryptionData([]byte(f.meta))
	ed.EncryptionAgent.Protocol = Protocol2_0
	if _, err := decryptAll(ctx, &Decrypter{KEK: f.kek}, ed.String(), f.ct); !errors.Is(err, ErrDecrypt) {
		t.Errorf("relabel 2.1 -> 2.0: %v", err)
	}
	// A 1.0 document around a 2.x key: the unwrapped payload has the wrong size.
	ed.EncryptionAgent = EncryptionAgent{Protocol: Protocol1_0, EncryptionAlgorithm: AlgorithmAESCBC256}
	ed.ContentEncryptionIV, ed.EncryptedRegionInfo = make([]byte, 16), nil
	if _, err := decryptAll(ctx, &Decrypter{KEK: f.kek}, ed.String(), f.ct); !errors.Is(err, ErrDecrypt) {
		t.Errorf("downgrade to 1.0: %v", err)
	}
}

// TestNonceLayouts: blobs written with the Java or .NET nonce layouts
// decrypt; mixed or random layouts fail unless AllowAnyNonce is set.
func TestNonceLayouts(t *testing.T) {
	ctx := context.Background()
	f := newTamperFixture(t)
	cek, err := unwrapCEK(ctx, f.kek, nil, f.bd.ed)
	if err != nil {
		t.Fatal(err)
	}
	aead := newGCM(cek)
	seal := func(layoutOf func(i int) uint8, random bool) []byte {
		var out []byte
		for i, p := 0, f.pt; len(p) > 0; i++ {
			chunk := p[:min(tamperRegion, len(p))]
			p = p[len(chunk):]
			nonce := make([]byte, nonceSize)
			if random {
				nonce = randomBytes(nonceSize)
			} else {
				putNonce(nonce, layoutOf(i), uint64(i))
			}
			out = aead.Seal(append(out, nonce...), nonce, chunk, nil)
		}
		return out
	}
	for name, layout := range map[string]uint8{"python": nonceBigEndian96, "java": nonceBigEndian64, "dotnet": nonceLittleEndianPlus1} {
		ct := seal(func(int) uint8 { return layout }, false)
		if got, err := io.ReadAll(f.bd.NewReader(bytes.NewReader(ct))); err != nil || !bytes.Equal(got, f.pt) {
			t.Errorf("%s layout: %v", name, err)
		}
		// Ranged reads check the absolute index too.
		if got, err := f.bd.DecryptRange(ct[3*tamperR:], 3*tamperRegion+1, 70, int64(len(ct))); err != nil || !bytes.Equal(got, f.pt[3*tamperRegion+1:3*tamperRegion+71]) {
			t.Errorf("%s layout range: %v", name, err)
		}
	}
	mixed := seal(func(i int) uint8 { return []uint8{nonceBigEndian96, nonceBigEndian64}[i%2] }, false)
	random := seal(nil, true)
	for name, ct := range map[string][]byte{"mixed": mixed, "random": random} {
		f.mustReject(t, name, ct, 2) // mixed: regions 0 and 1 fit the Java layout
		any := &BlobDecryptor{ed: f.bd.ed, aead: aead, anyNonce: true}
		if got, err := io.ReadAll(any.NewReader(bytes.NewReader(ct))); err != nil || !bytes.Equal(got, f.pt) {
			t.Errorf("%s with AllowAnyNonce: %v", name, err)
		}
	}
}

func TestTamperQueueMessage(t *testing.T) {
	ctx := context.Background()
	kek := newTestKEK(t)
	for _, legacy := range []bool{false, true} {
		env, err := (&Encrypter{KEK: kek, LegacyProtocol1: legacy}).EncryptQueueMessage(ctx, "attack at dawn")
		if err != nil {
			t.Fatal(err)
		}
		var b64 string
		_ = json.Unmarshal(queueEnvelope(env)[envelopeContents], &b64)
		ct, _ := base64.StdEncoding.DecodeString(b64)
		for i := range len(ct) * 8 {
			c := bytes.Clone(ct)
			c[i/8] ^= 1 << (i % 8)
			tampered := strings.Replace(env, b64, base64.StdEncoding.EncodeToString(c), 1)
			got, err := (&Decrypter{KEK: kek}).DecryptQueueMessage(ctx, tampered)
			switch {
			case !legacy && (!errors.Is(err, ErrDecrypt) || got != ""):
				t.Fatalf("2.0 flip %d: %q, %v", i, got, err)
			case legacy && err == nil && got == "attack at dawn":
				t.Fatalf("1.0 flip %d went unnoticed in the plaintext", i)
			}
		}
	}
}
