// Package queue is the Azure Queue service over atrest's encrypted store.
//
// New builds the service and Routes lists its REST operations for the
// protocol edge (internal/edge), which authenticates each request and
// renders errors:
//
//	qs := queue.New(db, keys, log)
//	handler := &edge.Service{Name: "queue", Routes: qs.Routes(), ...}
//
// Every message body and every queue's metadata is a record sealed by
// internal/sse under its own data key, wrapped by the account's key. Record
// keys stay readable so the store can keep them ordered: a message's key is
// its queue, the time it next becomes visible and its id, so the visible
// messages of a queue are always the front of its key range, and a message
// whose visibility timeout passes is simply found there again. Pop receipts
// name that key, so update and delete need no index. docs/queue-table.md
// lists exactly which bytes are sealed and which stay readable.
package queue
