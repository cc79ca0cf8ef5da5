package edge

import (
	"net/http"
	"strings"
)

// Metadata errors shared by Blob and Queue.
var (
	ErrInvalidMetadata  = &Error{Status: http.StatusBadRequest, Code: "InvalidMetadata", Message: "The metadata specified is invalid. It has characters that are not permitted."}
	ErrMetadataTooLarge = &Error{Status: http.StatusBadRequest, Code: "MetadataTooLarge", Message: "The size of the specified metadata exceeds the maximum size permitted."}
)

// maxMetadata is Azure's limit on the total size of names and values.
const maxMetadata = 8 << 10

// Metadata collects x-ms-meta-* headers (nil when there are none). Go's
// HTTP server canonicalises header names, so names come back lower-cased;
// Azure compares them case-insensitively.
func Metadata(h http.Header) (map[string]string, error) {
	var m map[string]string
	size := 0
	for k, v := range h {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "x-ms-meta-") {
			continue
		}
		name := lk[len("x-ms-meta-"):]
		if !validMetaName(name) {
			return nil, ErrInvalidMetadata
		}
		if m == nil {
			m = map[string]string{}
		}
		m[name] = strings.Join(v, ",")
		size += len(name) + len(m[name])
	}
	if size > maxMetadata {
		return nil, ErrMetadataTooLarge
	}
	return m, nil
}

// validMetaName accepts the names the Blob service accepts: letters, digits,
// underscores, and hyphens after the first character.
func validMetaName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && c == '-')) {
			return false
		}
	}
	return true
}

// WriteMetadata sets an x-ms-meta-* header for each entry.
func WriteMetadata(h http.Header, m map[string]string) {
	for k, v := range m {
		h["x-ms-meta-"+k] = []string{v}
	}
}
