package cse

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"strings"
	"testing"
)

// TestBlobVectorsDecrypt decrypts every SDK-written blob, whole and through
// every recorded ranged read, with a KEK and with a resolver.
func TestBlobVectorsDecrypt(t *testing.T) {
	ctx := context.Background()
	for _, v := range loadVectors(t, "blob") {
		t.Run(v.ID, func(t *testing.T) {
			if v.Expect != "decrypt-ok" {
				t.Fatalf("expect %q", v.Expect)
			}
			kek, ct, pt := v.kek(t), v.ciphertextBytes(t), v.plaintextBytes(t)
			meta := v.Stored.Metadata[MetadataKey]
			for _, d := range []*Decrypter{
				{KEK: kek, RequireEncryption: true},
				{Resolver: NewKeyRing(kek), RequireEncryption: true},
			} {
				r, err := d.DecryptBlob(ctx, meta, bytes.NewReader(ct))
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("full decrypt: %d bytes, %v", len(got), err)
				}
			}
			bd, err := (&Decrypter{KEK: kek}).OpenBlob(ctx, meta)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(bd.NewReaderSize(bytes.NewReader(ct), int64(len(pt))))
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("sized decrypt: %d bytes, %v", len(got), err)
			}
			checkSizes(t, bd.EncryptionData(), int64(len(pt)), int64(len(ct)))
			checkDerived(t, v, kek)
			for _, rg := range v.Ranges {
				checkRange(t, bd, rg, ct, pt)
			}
		})
	}
}

func checkSizes(t *testing.T, ed *EncryptionData, p, c int64) {
	t.Helper()
	if got, err := ed.CiphertextSize(p); err != nil || got != c {
		t.Errorf("CiphertextSize(%d) = %d, %v; want %d", p, got, err, c)
	}
	want := p
	if !ed.isV2() {
		want = -1
	}
	if got, err := ed.PlaintextSize(c); err != nil || got != want {
		t.Errorf("PlaintextSize(%d) = %d, %v; want %d", c, got, err, want)
	}
}

// checkDerived compares the unwrapped CEK (and 2.x nonces) with derived.*.
func checkDerived(t *testing.T, v *vector, kek KeyEncryptionKey) {
	t.Helper()
	ed, err := ParseEncryptionData([]byte(v.Stored.Metadata[MetadataKey]))
	if err != nil {
		t.Fatal(err)
	}
	cek, err := unwrapCEK(context.Background(), kek, nil, ed)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(cek.bytes()); got != v.Derived.CEKHex {
		t.Errorf("CEK %s, want %s", got, v.Derived.CEKHex)
	}
	if hex.EncodeToString(wrapPayload(ed.EncryptionAgent.Protocol, cek.bytes())) != v.Derived.WrapInput {
		t.Errorf("wrap payload differs from derived.wrap_input_hex")
	}
	for i, n := range v.Derived.NoncesHex {
		var want [nonceSize]byte
		putNonce(want[:], nonceBigEndian96, uint64(i))
		if hex.EncodeToString(want[:]) != n {
			t.Errorf("region %d: SDK nonce %s is not the Python layout", i, n)
		}
	}
}

// checkRange verifies the range arithmetic against what the SDK requested
// and the service served, then decrypts only the served slice.
func checkRange(t *testing.T, bd *BlobDecryptor, rg vectorRange, ct, pt []byte) {
	t.Helper()
	c := int64(len(ct))
	req, err := bd.CiphertextRange(rg.Offset, rg.Length, -1)
	if err != nil || req.First != rg.Requested[0] || req.Last != rg.Requested[1] {
		t.Errorf("range %d+%d: requested %v, %v; want %v", rg.Offset, rg.Length, req, err, rg.Requested)
	}
	served, err := bd.CiphertextRange(rg.Offset, rg.Length, c)
	if err != nil || served.First != rg.Served[0] || served.Last != rg.Served[1] {
		t.Fatalf("range %d+%d: served %v, %v; want %v", rg.Offset, rg.Length, served, err, rg.Served)
	}
	slice := ct[served.First : served.Last+1]
	if rg.ServedBase64 != "" && !bytes.Equal(slice, unb64(t, rg.ServedBase64)) {
		t.Fatalf("range %d+%d: served bytes differ", rg.Offset, rg.Length)
	}
	got, err := bd.DecryptRange(slice, rg.Offset, rg.Length, c)
	if err != nil {
		t.Fatalf("range %d+%d: %v", rg.Offset, rg.Length, err)
	}
	if int64(len(got)) != rg.Expected.Length {
		t.Fatalf("range %d+%d: %d bytes, want %d", rg.Offset, rg.Length, len(got), rg.Expected.Length)
	}
	mustSHA(t, "range plaintext", got, rg.Expected.SHA256)
	if !bytes.Equal(got, pt[rg.Offset:rg.Offset+int64(len(got))]) {
		t.Fatal("range plaintext differs")
	}
}

// TestBlobWriterMatchesSDK encrypts each vector's plaintext with its CEK
// (and 1.0 IV) through our writer: the ciphertext must be the SDK's byte for
// byte, and the metadata the SDK's apart from EncryptionLibrary (and, for
// RSA-OAEP, the randomized EncryptedKey).
func TestBlobWriterMatchesSDK(t *testing.T) {
	ctx := context.Background()
	for _, v := range loadVectors(t, "blob") {
		t.Run(v.ID, func(t *testing.T) {
			kek, ct, pt := v.kek(t), v.ciphertextBytes(t), v.plaintextBytes(t)
			sdk, err := ParseEncryptionData([]byte(v.Stored.Metadata[MetadataKey]))
			if err != nil {
				t.Fatal(err)
			}
			var region int64
			var iv []byte
			if sdk.isV2() {
				region = sdk.EncryptedRegionInfo.DataLength
			} else {
				iv = unhex(t, v.Derived.IVHex)
			}
			ck, err := (&Encrypter{KEK: kek}).contentKeyFrom(ctx, sdk.EncryptionAgent.Protocol, region, newSecret(unhex(t, v.Derived.CEKHex)), iv)
			if err != nil {
				t.Fatal(err)
			}
			blob := encryptBlobWith(ck, bytes.NewReader(pt))
			got, err := io.ReadAll(blob)
			if err != nil || !bytes.Equal(got, ct) {
				t.Fatalf("ciphertext differs from the SDK's (%d vs %d bytes), %v", len(got), len(ct), err)
			}
			if n := blob.CiphertextSize(int64(len(pt))); n != int64(len(ct)) {
				t.Fatalf("CiphertextSize = %d, want %d", n, len(ct))
			}
			meta := blob.Metadata()
			if strings.HasPrefix(kek.Algorithm(), "RSA") {
				ours := blob.EncryptionData()
				if len(ours.WrappedContentKey.EncryptedKey) != len(sdk.WrappedContentKey.EncryptedKey) {
					t.Fatal("wrapped key length differs")
				}
				copy(ours.WrappedContentKey.EncryptedKey, sdk.WrappedContentKey.EncryptedKey)
				meta = ours.String()
			}
			want := strings.Replace(v.Stored.Metadata[MetadataKey], sdk.KeyWrappingMetadata["EncryptionLibrary"], EncryptionLibrary, 1)
			if meta != want {
				t.Fatalf("metadata\n got %s\nwant %s", meta, want)
			}
		})
	}
}

// TestEncryptionDataRoundTrip re-marshals every SDK document byte for byte.
func TestEncryptionDataRoundTrip(t *testing.T) {
	var docs []string
	for _, v := range loadVectors(t, "blob") {
		docs = append(docs, v.Stored.Metadata[MetadataKey])
	}
	for _, v := range loadVectors(t, "table") {
		docs = append(docs, v.Stored.EntityJSON[EntityMetadataProperty].(string))
	}
	for _, doc := range docs {
		ed, err := ParseEncryptionData([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(doc, `": "`) && ed.String() != doc { // Python-written
			t.Errorf("re-marshal\n got %s\nwant %s", ed, doc)
		}
		if err := ed.check(); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
}
