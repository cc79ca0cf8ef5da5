// Package odata is the subset of OData v3 the Table service speaks: the EDM
// property types with their JSON forms, and the $filter language.
//
// Most callers need two calls:
//
//	f, err := odata.ParseFilter("PartitionKey eq 'p' and Age gt 30")
//	if f.Match(entity) { ... }
//
// where entity is anything with Property(name) (Value, bool). A Filter also
// reports the key range its top-level conjunction pins down (KeyRange), so a
// store can scan only that range and still evaluate the whole filter on what
// it finds. Parse errors are plain errors; the Table service answers them
// with 400 InvalidInput.
package odata
