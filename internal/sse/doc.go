// Package sse is atrest's server-side encryption: every byte a service
// stores passes through it and leaves as ciphertext.
//
// Each stored object (a metadata record or a content extent) gets its own
// random 256-bit data key (DEK). The DEK is wrapped by a key-encryption key
// (KEK) named in the object's header; content is AES-256-GCM in fixed-size
// segments whose nonces come from the segment counter and a last-segment
// flag, and whose associated data binds each segment to its place (account,
// container, object, version, index). The format is specified in
// docs/format.md and frozen by vectors under testdata/.
//
// Services never see a store.Meta or store.Objects: they get a *DB, whose
// Update/View hand out a *Tx that seals on Put and opens on Get, and whose
// Extents write and read content. Most callers need two calls:
//
//	db.Update(func(tx *sse.Tx) error { return tx.Put(key, value, kek) })
//	r, err := db.OpenExtent(ref, binding) // then r.WriteRange(w, off, n)
//
// Any failure to authenticate is ErrAuth, whatever its cause; the precise
// cause goes to the log with the object's name, never to the client.
package sse
