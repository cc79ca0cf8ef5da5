// Package e2e drives a running atrest with the official Azure clients (the
// Go SDK in-process, the Python SDK and az as child processes) and then
// inspects the data directory the way an attacker holding the disk would.
package e2e
