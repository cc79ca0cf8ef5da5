// Package cse is client-side encryption for Azure Storage blobs, queue
// messages and table entities, wire-compatible with the official Azure
// Storage SDKs (.NET, Java, Python): what one writes, the others read.
//
// Data is encrypted before it leaves the process under a fresh 256-bit
// content-encryption key (CEK); the CEK is wrapped by a key-encryption key
// (KEK) the application holds, and the wrapped CEK travels beside the
// ciphertext in a JSON document (EncryptionData). The service only ever
// stores ciphertext.
//
// Most users need two calls:
//
//	kek, _ := cse.NewAESKEK("my-key", key) // or ParseJWK, ParseRSAKEK
//	enc := &cse.Encrypter{KEK: kek}
//	blob, _ := enc.EncryptBlob(ctx, plaintext) // upload blob; store blob.Metadata() as "encryptiondata"
//
//	dec := &cse.Decrypter{KEK: kek, RequireEncryption: true}
//	r, _ := dec.DecryptBlob(ctx, metadata, ciphertext) // read plaintext from r
//
// Ranged reads go through Decrypter.OpenBlob: BlobDecryptor.CiphertextRange
// says which stored bytes to fetch, DecryptRange returns exactly the asked
// plaintext. Queue messages: Encrypter.EncryptQueueMessage and
// Decrypter.DecryptQueueMessage. Table entities (map[string]any, as aztables
// sends them): Encrypter.EncryptEntity and Decrypter.DecryptEntity.
//
// The subpackages put this on the official SDK clients: cseblob (azblob:
// streaming upload and download, ranged reads, metadata updates), csequeue
// (azqueue), csetable (aztables) and csekv (a Key Vault key as the KEK, via
// azkeys). Encrypter.NewBlob and ResumeBlob serve uploads that stage
// regions themselves, in parallel or after an interruption.
//
// # Compatibility
//
// Blobs are written as protocol 2.0 (AES-256-GCM in 4 MiB regions, region i
// using the nonce i as a 12-byte big-endian integer, Python's layout, which
// the nonce-order checks of current .NET and Java accept), or 2.1 when
// Encrypter.RegionSize asks for other regions. Protocol 1.0 (AES-CBC) is
// read, and written only with Encrypter.LegacyProtocol1. The metadata is
// written byte for byte in the Python SDK's layout, and always names this
// library in KeyWrappingMetadata.EncryptionLibrary. These formats are
// frozen by the SDKs; this package will keep reading everything it writes.
//
// # Security
//
// Every authentication failure is the one error ErrDecrypt, and no 2.x
// plaintext is released before its region's tag verifies. Beyond the SDKs,
// the reader checks each region's nonce against the three SDK layouts at its
// absolute index, so reordered, duplicated and spliced regions fail even
// where a Python reader would accept them; BlobDecryptor.NewReaderSize also
// catches truncation at a region boundary, which the format itself cannot.
// Metadata that is present but not understood is always an error, and with
// RequireEncryption so is data that carries none. Protocol 1.0 has no
// integrity at all (CVE-2022-30187): prefer 2.x data.
package cse
