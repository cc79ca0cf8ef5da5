package cse

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
)

// Encrypter writes client-side encrypted data. The zero value plus a KEK
// writes protocol 2.0, which every current SDK reads.
type Encrypter struct {
	// KEK wraps each new content-encryption key. Required.
	KEK KeyEncryptionKey
	// RegionSize, when set to anything but 4 MiB, writes blobs as protocol
	// 2.1 with that many plaintext bytes per region (MinRegionSize to
	// MaxRegionSize). Only Java 12.27+, .NET and recent Python read 2.1.
	// Queue messages are always a single 2.0 region.
	RegionSize int64
	// LegacyProtocol1 writes protocol 1.0 (AES-CBC without integrity,
	// CVE-2022-30187) for readers that predate 2.0. Never use it otherwise.
	LegacyProtocol1 bool
}

// contentKey is a fresh CEK with its document, ready to encrypt one object.
type contentKey struct {
	cek secret
	ed  *EncryptionData
}

// blobProtocol picks the protocol and region size for a blob.
func (e *Encrypter) blobProtocol() (string, int64, error) {
	switch {
	case e.LegacyProtocol1:
		if e.RegionSize != 0 {
			return "", 0, errors.New("cse: RegionSize does not apply to protocol 1.0")
		}
		return Protocol1_0, 0, nil
	case e.RegionSize == 0 || e.RegionSize == DefaultRegionSize:
		return Protocol2_0, DefaultRegionSize, nil
	case e.RegionSize < MinRegionSize || e.RegionSize > MaxRegionSize:
		return "", 0, fmt.Errorf("cse: RegionSize %d outside [%d, %d]", e.RegionSize, MinRegionSize, MaxRegionSize)
	}
	return Protocol2_1, e.RegionSize, nil
}

// newContentKey draws a CEK (and a 1.0 IV), wraps it and fills in the document.
func (e *Encrypter) newContentKey(ctx context.Context, protocol string, region int64) (contentKey, error) {
	cek := newCEK()
	var iv []byte
	if protocol == Protocol1_0 {
		iv = make([]byte, blockSize)
		_, _ = rand.Read(iv)
	}
	return e.contentKeyFrom(ctx, protocol, region, cek, iv)
}

// contentKeyFrom builds the document around a given CEK and IV; tests use
// it with the vectors' CEKs to reproduce SDK output byte for byte.
func (e *Encrypter) contentKeyFrom(ctx context.Context, protocol string, region int64, cek secret, iv []byte) (contentKey, error) {
	wck, err := wrapCEK(ctx, e.KEK, protocol, cek)
	if err != nil {
		return contentKey{}, err
	}
	ed := &EncryptionData{
		WrappedContentKey:   wck,
		EncryptionAgent:     EncryptionAgent{Protocol: protocol, EncryptionAlgorithm: AlgorithmAESGCM256},
		KeyWrappingMetadata: map[string]string{"EncryptionLibrary": EncryptionLibrary},
	}
	if protocol == Protocol1_0 {
		ed.EncryptionAgent.EncryptionAlgorithm = AlgorithmAESCBC256
		ed.ContentEncryptionIV = iv
	} else {
		ed.EncryptedRegionInfo = &EncryptedRegionInfo{DataLength: region, NonceLength: nonceSize}
	}
	return contentKey{cek: cek, ed: ed}, nil
}
