package sse

import (
	"errors"
	"fmt"
)

// Chooser picks the KEK that seals an account's new objects: the
// service-managed key, a customer-managed key, an HSM key, possibly inside
// an infrastructure layer. The account registry installs one; without it
// every account uses its service-managed key.
type Chooser interface {
	AccountKEK(account string) (KEK, error)
	IndexKEK(account string) (KEK, error)
}

// SetChooser installs the account-key chooser every service asks through
// AccountKEK.
func (k *Keyring) SetChooser(c Chooser) {
	k.hookMu.Lock()
	k.chooser = c
	k.hookMu.Unlock()
}

// AccountKEK is the KEK new objects of account are sealed under. Every
// service (Blob, Queue, Table) asks here, so an account's key model applies
// to all of them alike.
func (k *Keyring) AccountKEK(account string) (KEK, error) {
	k.hookMu.RLock()
	c := k.chooser
	k.hookMu.RUnlock()
	if c != nil {
		return c.AccountKEK(account)
	}
	return k.ServiceKEK(ServiceRef(account))
}

// IndexKEK is the KEK of the index records of a service that keeps
// content apart from them (the Blob service's containers and blob
// records): the service-managed key, inside the infrastructure layer when
// the account requires it. A customer-managed key then governs content
// and metadata, and names, listings and deletes keep working when it is
// revoked, as in Azure.
func (k *Keyring) IndexKEK(account string) (KEK, error) {
	k.hookMu.RLock()
	c := k.chooser
	k.hookMu.RUnlock()
	if c != nil {
		return c.IndexKEK(account)
	}
	return k.ServiceKEK(ServiceRef(account))
}

// SetResolver installs the resolver of KEKs from a source other than the
// service-managed one (customer-managed keys, HSM keys, the
// infrastructure layer's keys).
func (k *Keyring) SetResolver(src Source, r Resolver) {
	k.hookMu.Lock()
	if k.resolvers == nil {
		k.resolvers = map[Source]Resolver{}
	}
	k.resolvers[src] = r
	k.hookMu.Unlock()
}

// KeyError is a KEK that cannot be used now, with the error code the
// storage services answer (403 KeyVaultEncryptionKeyNotFound,
// KeyVaultAccessTokenCannotBeAcquired, ...). Reason is for logs only.
type KeyError struct {
	Code   string
	Reason string
	// Permanent: the key is gone for good (a purged Key Vault key), so the
	// data it protects can never be read again (crypto-erasure).
	Permanent bool
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("%s: %s: %s", ErrKeyUnavailable, e.Code, e.Reason)
}

func (e *KeyError) Unwrap() error { return ErrKeyUnavailable }

// Codes of KeyError, as Azure Storage names them.
const (
	CodeKeyNotFound      = "KeyVaultEncryptionKeyNotFound"
	CodeTokenNotAcquired = "KeyVaultAccessTokenCannotBeAcquired"
	CodeVaultNotFound    = "KeyVaultVaultNotFound"
)

// UnavailableCode is the error code for a KEK that is unavailable: the
// KeyError's code, or KeyVaultEncryptionKeyNotFound.
func UnavailableCode(err error) string {
	var ke *KeyError
	if errors.As(err, &ke) && ke.Code != "" {
		return ke.Code
	}
	return CodeKeyNotFound
}

// unavailable keeps a KeyError (its code matters to the client) and drops
// every other detail of why a key is unavailable.
func unavailable(err error) error {
	var ke *KeyError
	if errors.As(err, &ke) {
		return &KeyError{Code: ke.Code, Permanent: ke.Permanent}
	}
	return ErrKeyUnavailable
}

// LayerLike seals with inner inside the same infrastructure layer as
// template, if template has one: a customer-provided key on an account
// that requires infrastructure encryption still gets the second layer.
func LayerLike(template, inner KEK) KEK {
	if l, ok := template.(*layered); ok {
		return &layered{inner: inner, infra: l.infra}
	}
	return inner
}
