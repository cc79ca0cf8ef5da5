package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/atrest/atrest/internal/secret"
)

// RootKeyFile is the development root key's file in a data directory.
const RootKeyFile = "root.key"

// devRootKey loads or creates the development root key. Keeping the root
// key beside the data protects nothing against someone holding the whole
// directory; it is the zero-setup default, and says so.
func devRootKey(dir string, log *slog.Logger) (secret.Key, error) {
	path := filepath.Join(dir, RootKeyFile)
	k, err := ReadRootKey(path)
	if err == nil {
		log.Warn("using the development root key kept in the data directory; supply --root-key-file or ATREST_ROOT_KEY outside development", "file", path)
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return secret.Key{}, err
	}
	k, err = secret.Random(32)
	if err != nil {
		return secret.Key{}, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return secret.Key{}, err
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k.Bytes()) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return secret.Key{}, err
	}
	log.Warn("created a development root key in the data directory; supply --root-key-file or ATREST_ROOT_KEY outside development", "file", path)
	return k, nil
}

// ReadRootKey reads a base64 256-bit root key from a file.
func ReadRootKey(path string) (secret.Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return secret.Key{}, err
	}
	return ParseRootKey(strings.TrimSpace(string(b)))
}

// ParseRootKey decodes a base64 256-bit root key.
func ParseRootKey(s string) (secret.Key, error) {
	k, err := secret.FromBase64(s)
	if err != nil || k.Len() != 32 {
		return secret.Key{}, fmt.Errorf("root key must be 32 bytes in base64")
	}
	return k, nil
}
