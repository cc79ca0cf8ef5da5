package blob

import (
	"bytes"
	"net/http"
	"testing"
)

func FuzzParseBlockList(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>QQ==</Latest><Committed>Qg==</Committed><Uncommitted>Qw==</Uncommitted></BlockList>`))
	f.Add([]byte(`<BlockList></BlockList>`))
	f.Add([]byte(`<BlockList><Latest>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := parseBlockList(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, lb := range list {
			if lb.kind != "Committed" && lb.kind != "Uncommitted" && lb.kind != "Latest" {
				t.Fatalf("kind %q accepted", lb.kind)
			}
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-10", "bytes=5-", "bytes=-5", "bytes=10-1", "bytes=a-b", "", "bytes=0-9223372036854775807"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			return
		}
		br, _, err := parseRange(http.Header{"X-Ms-Range": {v}})
		if err != nil {
			return
		}
		r, err := br.clamp(size)
		if err != nil {
			return
		}
		if r.off < 0 || r.n < 0 || r.off+r.n > size {
			t.Fatalf("range %q on %d bytes gave %d+%d", v, size, r.off, r.n)
		}
	})
}
