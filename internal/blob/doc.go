// Package blob is atrest's Blob service: the Azure Blob REST protocol over
// sse, so containers, blobs, blocks, metadata and content headers are stored
// only as ciphertext.
//
// New returns a service; Routes is its operation table, one row per REST
// operation, served by edge.Service.
package blob
