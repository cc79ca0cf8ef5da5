package cse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
)

func FuzzParseEncryptionData(f *testing.F) {
	for _, v := range loadVectors(f, "blob") {
		f.Add([]byte(v.Stored.Metadata[MetadataKey]))
	}
	f.Add([]byte(`{"WrappedContentKey":{"KeyId":"\ud800","EncryptedKey":"","Algorithm":""},"EncryptionAgent":{"Protocol":"2.1","EncryptionAlgorithm":""},"KeyWrappingMetadata":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ed, err := ParseEncryptionData(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error outside ErrMalformed: %v", err)
			}
			return
		}
		// What we parse, we write and read back unchanged.
		again, err := ParseEncryptionData([]byte(ed.String()))
		if err != nil || !reflect.DeepEqual(ed, again) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, ed, again)
		}
		_ = ed.check()
		_, _ = ed.CiphertextRange(3, 100, 1000)
		_, _ = ed.PlaintextSize(1000)
	})
}

// FuzzDecryptReader feeds arbitrary ciphertext (and range parameters) to the
// 2.1 and 1.0 readers. A 2.x reader may only ever release a prefix of the
// real plaintext; nothing may panic.
func FuzzDecryptReader(f *testing.F) {
	ctx := context.Background()
	kek, _ := NewAESKEK("local:fuzz", bytes.Repeat([]byte{7}, 32))
	pt := []byte("The quick brown fox jumps over the lazy dog, 0123456789.")
	var cts [2][]byte
	var bds [2]*BlobDecryptor
	for i, e := range []*Encrypter{{KEK: kek, RegionSize: 16}, {KEK: kek, LegacyProtocol1: true}} {
		blob, err := e.EncryptBlob(ctx, bytes.NewReader(pt))
		if err != nil {
			f.Fatal(err)
		}
		cts[i], _ = io.ReadAll(blob)
		if bds[i], err = (&Decrypter{KEK: kek}).OpenBlob(ctx, blob.Metadata()); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(cts[0], int64(3), int64(20), false)
	f.Add(cts[0][44:], int64(17), int64(5), false)
	f.Add(cts[1], int64(3), int64(20), true)
	f.Add(cts[0][:len(cts[0])-1], int64(0), int64(1000), false)
	f.Fuzz(func(t *testing.T, ct []byte, offset, length int64, v1 bool) {
		bd := bds[0]
		if v1 {
			bd = bds[1]
		}
		got, err := io.ReadAll(bd.NewReader(bytes.NewReader(ct)))
		if !v1 && !bytes.HasPrefix(pt, got) {
			t.Fatalf("released %q, not a plaintext prefix (err %v)", got, err)
		}
		_, _ = io.ReadAll(bd.NewReaderSize(bytes.NewReader(ct), int64(len(pt))))
		r, err := bd.DecryptRange(ct, offset, length, int64(len(ct)))
		if err == nil && !v1 && (offset < 0 || offset > int64(len(pt)) || !bytes.HasPrefix(pt[offset:], r)) {
			t.Fatalf("range %d+%d gave %q", offset, length, r)
		}
	})
}
