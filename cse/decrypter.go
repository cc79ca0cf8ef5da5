package cse

import (
	"context"
	"io"
)

// Decrypter reads client-side encrypted data written by the Azure Storage
// SDKs or by Encrypter.
type Decrypter struct {
	// KEK unwraps content keys whose KeyId equals KEK.KeyID().
	KEK KeyEncryptionKey
	// Resolver finds the KEK for any other KeyId.
	Resolver KeyResolver
	// RequireEncryption makes data without encryption metadata an error
	// (ErrNotEncrypted) instead of passing it through unchanged. Metadata
	// that is present but not understood is an error either way.
	RequireEncryption bool
	// AllowAnyNonce turns off the 2.x region-nonce check, for blobs written
	// by tools that use none of the SDK nonce layouts (like the SDKs'
	// CseV2AllowMisorderedAuthRegions switch). Reordered and duplicated
	// regions then go undetected.
	AllowAnyNonce bool
}

// DecryptBlob decrypts a whole blob given its "encryptiondata" metadata
// value ("" when the blob has none). Without metadata it returns ciphertext
// unchanged, or ErrNotEncrypted under RequireEncryption.
func (d *Decrypter) DecryptBlob(ctx context.Context, metadata string, ciphertext io.Reader) (io.Reader, error) {
	if metadata == "" && !d.RequireEncryption {
		return ciphertext, nil
	}
	b, err := d.OpenBlob(ctx, metadata)
	if err != nil {
		return nil, err
	}
	return b.NewReader(ciphertext), nil
}

// OpenBlob parses metadata and unwraps the content key once, for any number
// of full or ranged reads of the blob.
func (d *Decrypter) OpenBlob(ctx context.Context, metadata string) (*BlobDecryptor, error) {
	if metadata == "" {
		return nil, ErrNotEncrypted
	}
	ed, err := ParseEncryptionData([]byte(metadata))
	if err != nil {
		return nil, err
	}
	cek, err := unwrapCEK(ctx, d.KEK, d.Resolver, ed)
	if err != nil {
		return nil, err
	}
	defer cek.wipe()
	b := &BlobDecryptor{ed: ed, anyNonce: d.AllowAnyNonce}
	if ed.isV2() {
		b.aead = newGCM(cek)
	} else {
		b.block = newAESBlock(cek)
	}
	return b, nil
}
