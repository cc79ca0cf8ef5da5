// Package cseblob adds client-side encryption to the official azblob client:
// blobs are encrypted before upload and decrypted after download, in the
// format the Azure Storage SDKs (.NET, Java, Python) read and write.
//
// Most users need two calls:
//
//	c, _ := cseblob.NewClient(azblobClient, cseblob.Options{KEK: kek, RequireEncryption: true})
//	_, _ = c.Upload(ctx, "container", "name", file, nil)            // encrypts as it streams
//	resp, _ := c.Download(ctx, "container", "name", nil)             // resp.Body is plaintext
//
// Uploads write protocol 2.0 (AES-256-GCM in 4 MiB regions), 2.1 when
// Options.RegionSize asks for other regions, and 1.0 only with
// Options.LegacyProtocol1. They stream with flat memory: a few blocks in
// flight, whatever the blob size. Downloads read 1.0, 2.0 and 2.1; a ranged
// download (DownloadOptions.Range, in plaintext bytes) fetches only the
// regions the range touches, plus the IV block for 1.0, pinned to the ETag
// the metadata came from.
//
// The encryption document lives in the blob metadata "encryptiondata". Use
// Client.SetMetadata to change other metadata: azblob's SetMetadata replaces
// all of it and would drop the document, leaving the blob unreadable.
//
// With Options.RequireEncryption a blob without the document is refused
// (cse.ErrNotEncrypted) rather than returned as is. A document that is
// present but not understood, such as an unknown protocol, is an error
// either way; the Python SDK instead returns the ciphertext as plaintext.
// Every failure of the data to authenticate is cse.ErrDecrypt.
package cseblob
