// Package csetable adds client-side encryption to the official aztables
// client: chosen string properties of an entity are encrypted before it is
// sent and decrypted when it is read, in the format the legacy Azure
// Storage table SDKs (.NET, Java, Python) use. It is protocol 1.0, the only
// one tables ever had: AES-256-CBC without integrity, so an attacker who can
// write the table can alter ciphertext undetected. Prefer blobs or queues
// (protocol 2.0) for data that needs integrity.
//
// Most users need two calls:
//
//	encryptSSN := func(pk, rk, name string) bool { return name == "SSN" }
//	t, _ := csetable.NewClient(tableClient, csetable.Options{KEK: kek, EncryptProperty: encryptSSN})
//	_, _ = t.AddEntity(ctx, entityJSON, nil)
//	resp, _ := t.GetEntity(ctx, "pk", "rk", nil) // resp.Value holds the plaintext entity
//
// Entities are the JSON aztables takes and returns (marshal an
// aztables.EDMEntity or a map). Options.EncryptProperty chooses the
// properties, which must be strings; PartitionKey, RowKey and Timestamp
// never are. Each write gets a fresh content key, and the two reserved
// properties _ClientEncryptionMetadata1 and _ClientEncryptionMetadata2 are
// added and removed here. Writes use the Python/.NET layout (property IVs
// from RowKey + PartitionKey + name); reads accept that and the legacy Java
// layout (PartitionKey + RowKey + name), chosen as the SDKs choose.
//
// Merges are refused, as in the SDKs: merging would mix properties
// encrypted under different keys. UpsertEntity and UpdateEntity therefore
// always replace. Queries with a projection get the reserved properties
// added to it.
package csetable
