// Package csekv is a cse key-encryption key held in Azure Key Vault (or
// atrest's own vault), reached through the official azkeys client. The key
// never leaves the vault: unwrapping a content key is a call to the vault's
// unwrapKey operation, so revoking the caller's access (or disabling the
// key) stops decryption.
//
// Most users need one call:
//
//	kek, _ := csekv.New(ctx, keysClient, "my-key", "", nil) // "" = current version
//	enc := &cse.Encrypter{KEK: kek}                          // or cseblob.Options{KEK: kek}
//
// The KEK's id is the versioned key URL (https://{vault}/keys/{name}/{version}),
// which is what the SDKs record and what a Resolver later resolves, so data
// stays readable after the key rotates.
//
// # Wrapping
//
// RSA keys wrap locally with the public key fetched once (RSA-OAEP-256 by
// default, or RSA-OAEP), as the Python and .NET SDKs' CryptographyClient
// do: writing needs no round trip and no decrypt permission. The key's
// state is checked first (enabled, within nbf/exp, wrapKey among its
// key_ops). Options.RemoteWrap sends every wrap to the vault instead, so
// that the vault logs and authorizes it; symmetric (oct-HSM) keys always
// wrap remotely, with A128KW, A192KW or A256KW.
//
// # Resolving key ids from data
//
// Resolver turns the key id stored with data into a KEK. It only contacts
// vaults listed in Resolver.Vaults: the key id comes from the (untrusted)
// data, and following it blindly would send the caller's token to any host
// an attacker names.
package csekv
