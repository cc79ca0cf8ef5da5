// Package csetransfer moves local files to and from blobs with client-side
// encryption, resuming after an interruption: uploads re-stage only the
// blocks that did not reach the service, downloads continue from the bytes
// already verified. It is the engine behind "atrest cse".
//
// An upload's state file holds the encryption document (with the content
// key wrapped by the KEK, never the key itself), the block ids' prefix, and
// per block the SHA-256 of its plaintext and whether it was staged. To
// resume, the KEK unwraps the content key again. A block is hashed and the
// hash saved before it is sent, and a resumed block whose plaintext hash
// differs is refused (ErrSourceChanged): re-encrypting a region with new
// plaintext under the same key and nonce would break AES-GCM.
package csetransfer
