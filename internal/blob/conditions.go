package blob

import (
	"net/http"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/edge"
)

// conditions evaluates If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since against a resource. For reads a failed "none match" or
// "modified since" is 304; for writes every failure is 412, except
// If-None-Match: * on an existing blob, which is 409 BlobAlreadyExists.
func conditions(r *http.Request, exists bool, etag string, modified time.Time, read bool) error {
	h := r.Header
	mod := modified.Truncate(time.Second)
	if v := h.Get("If-Match"); v != "" {
		if !exists || !etagIn(v, etag) {
			return edge.ErrConditionNotMet
		}
	}
	if v := h.Get("If-Unmodified-Since"); v != "" && exists {
		if t, err := http.ParseTime(v); err == nil && mod.After(t) {
			return edge.ErrConditionNotMet
		}
	}
	if v := h.Get("If-None-Match"); v != "" && exists {
		if strings.TrimSpace(v) == "*" && !read {
			return errBlobExists
		}
		if etagIn(v, etag) {
			if read {
				return edge.ErrNotModified
			}
			return edge.ErrConditionNotMet
		}
	}
	if v := h.Get("If-Modified-Since"); v != "" && exists {
		if t, err := http.ParseTime(v); err == nil && !mod.After(t) {
			if read {
				return edge.ErrNotModified
			}
			return edge.ErrConditionNotMet
		}
	}
	return nil
}

func etagIn(list, etag string) bool {
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || v == etag || `"`+v+`"` == etag || strings.TrimPrefix(v, "W/") == etag {
			return true
		}
	}
	return false
}
