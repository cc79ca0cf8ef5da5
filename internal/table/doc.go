// Package table is the Azure Table service over atrest's encrypted store.
//
// New builds the service; Routes and Split plug it into the protocol edge
// (internal/edge), and WriteError renders errors as the OData JSON the
// official clients parse:
//
//	ts := table.New(db, keys, log)
//	handler := &edge.Service{Name: "table", Flavor: edge.FlavorTable, Routes: ts.Routes(),
//		Split: table.Split, Errors: table.WriteError, ...}
//
// Each entity is one record sealed by internal/sse under its own data key,
// wrapped by the account's key: its property names, types and values and its
// timestamp are ciphertext. The record key - account, table, partition key
// and row key - stays readable so that partitions and row ranges are ordered
// scans. Filters ($filter, see internal/odata) are evaluated on the
// decrypted entity; the key range a filter pins down decides which records
// are opened at all. An entity group transaction ($batch) is one store
// transaction, so it commits or vanishes whole, across crashes too.
package table
