package cse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// TestBlobEncryptorRegions checks that encrypting a run of regions on its
// own, fresh or after ResumeBlob, gives exactly those bytes of the whole
// ciphertext, and that the pieces decrypt as one blob.
func TestBlobEncryptorRegions(t *testing.T) {
	ctx := context.Background()
	kek := newTestKEK(t)
	e := &Encrypter{KEK: kek, RegionSize: 1000}
	pt := randomBytes(10*1000 + 321)

	be, err := e.NewBlob(ctx)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := io.ReadAll(be.NewReader(bytes.NewReader(pt)))
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := e.ResumeBlob(ctx, be.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	var pieced []byte
	for off := int64(0); off < int64(len(pt)); off += 3000 { // three regions at a time
		r, err := resumed.NewReaderAt(bytes.NewReader(pt[off:min(off+3000, int64(len(pt)))]), off)
		if err != nil {
			t.Fatal(err)
		}
		piece, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if start := resumed.CiphertextSize(off); !bytes.Equal(piece, whole[start:start+int64(len(piece))]) {
			t.Fatalf("piece at plaintext %d differs from the whole stream", off)
		}
		pieced = append(pieced, piece...)
	}
	if !bytes.Equal(pieced, whole) {
		t.Fatal("pieces do not make up the whole ciphertext")
	}
	got := decryptForTest(t, &Decrypter{KEK: kek}, be.Metadata(), pieced)
	if !bytes.Equal(got, pt) {
		t.Fatal("pieced ciphertext does not decrypt")
	}
}

func TestBlobEncryptorRefusals(t *testing.T) {
	ctx := context.Background()
	kek := newTestKEK(t)
	be, err := (&Encrypter{KEK: kek}).NewBlob(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := be.NewReaderAt(bytes.NewReader(nil), 100); !errors.Is(err, ErrInvalidRange) {
		t.Errorf("unaligned offset: %v", err)
	}
	if _, err := (&Encrypter{KEK: newTestKEK(t)}).ResumeBlob(ctx, be.Metadata()); !errors.Is(err, ErrDecrypt) {
		t.Errorf("resume with other key bytes under the same id: %v", err)
	}
	other, _ := NewAESKEK("local:other", randomBytes(32))
	if _, err := (&Encrypter{KEK: other}).ResumeBlob(ctx, be.Metadata()); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("resume with another KEK: %v", err)
	}
	legacy, err := (&Encrypter{KEK: kek, LegacyProtocol1: true}).NewBlob(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Encrypter{KEK: kek}).ResumeBlob(ctx, legacy.Metadata()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("resume 1.0: %v", err)
	}
	if _, err := legacy.NewReaderAt(bytes.NewReader(nil), 0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("1.0 NewReaderAt: %v", err)
	}
	if legacy.RegionSize() != 0 || be.RegionSize() != DefaultRegionSize {
		t.Errorf("region sizes %d, %d", legacy.RegionSize(), be.RegionSize())
	}
}

func decryptForTest(t testing.TB, d *Decrypter, metadata string, ct []byte) []byte {
	t.Helper()
	r, err := d.DecryptBlob(context.Background(), metadata, bytes.NewReader(ct))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return pt
}
