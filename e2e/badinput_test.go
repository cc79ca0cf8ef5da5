package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/edge"
)

// signed sends a request signed with the dev account's SharedKey.
func signed(t testing.TB, method, rawURL string, hdr map[string]string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	must(t, err)
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", "2021-06-08")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Length", fmt.Sprint(len(body)))
	}
	u, _ := url.Parse(rawURL)
	sts := edge.StringToSign(edge.FlavorBlobQueue, false, req, edge.DevAccount, u.EscapedPath())
	req.Header.Set("Authorization", "SharedKey "+edge.DevAccount+":"+edge.B64(edge.Sign(edge.DevKeyBytes(), sts)))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func expectError(t testing.TB, resp *http.Response, status int, code string) {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || resp.Header.Get("x-ms-error-code") != code {
		t.Fatalf("%s %s: got %d %q, want %d %s\n%s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, resp.Header.Get("x-ms-error-code"), status, code, b[:min(len(b), 300)])
	}
	if resp.Request.Method != http.MethodHead && !bytes.Contains(b, []byte("<Code>"+code+"</Code>")) {
		t.Fatalf("error body lacks <Code>%s</Code>: %s", code, b)
	}
	for _, h := range []string{"x-ms-request-id", "x-ms-version", "Date"} {
		if resp.Header.Get(h) == "" {
			t.Fatalf("error response lacks %s", h)
		}
	}
}

func TestBadInputKeepsData(t *testing.T) {
	ts := startServer(t)
	base := ts.BlobURL + "/" + edge.DevAccount
	c := ts.client(t)
	cx := ctx(t)
	_, err := c.CreateContainer(cx, "bad", nil)
	must(t, err)
	keep := pattern(200000, "keep")
	_, err = c.UploadBuffer(cx, "bad", "keep", keep, nil)
	must(t, err)

	// malformed and unknown block lists
	for _, xml := range []string{"<BlockList><Latest>", "not xml", "<Other/>", "<BlockList><Bogus>QQ==</Bogus></BlockList>"} {
		expectError(t, signed(t, "PUT", base+"/bad/keep?comp=blocklist", nil, []byte(xml)), 400, "InvalidXmlDocument")
	}
	expectError(t, signed(t, "PUT", base+"/bad/keep?comp=blocklist", nil, []byte("<BlockList><Latest>bm9wZQ==</Latest></BlockList>")), 400, "InvalidBlockList")
	// bad block ids
	expectError(t, signed(t, "PUT", base+"/bad/x?comp=block&blockid=%25%25%25", nil, []byte("abc")), 400, "InvalidBlockId")
	// ranges
	expectError(t, signed(t, "GET", base+"/bad/keep", map[string]string{"x-ms-range": "bytes=300000-300010"}, nil), 416, "InvalidRange")
	expectError(t, signed(t, "GET", base+"/bad/keep", map[string]string{"x-ms-range": "bytes=abc"}, nil), 400, "InvalidHeaderValue")
	expectError(t, signed(t, "GET", base+"/bad/keep", map[string]string{"x-ms-range": "bytes=0-5000000", "x-ms-range-get-content-md5": "true"}, nil), 400, "OutOfRangeInput")
	// MD5 mismatch
	expectError(t, signed(t, "PUT", base+"/bad/keep", map[string]string{"x-ms-blob-type": "BlockBlob", "Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="}, []byte("replacement")), 400, "Md5Mismatch")
	// missing things, HEAD included
	expectError(t, signed(t, "GET", base+"/bad/missing", nil, nil), 404, "BlobNotFound")
	expectError(t, signed(t, "HEAD", base+"/bad/missing", nil, nil), 404, "BlobNotFound")
	expectError(t, signed(t, "GET", base+"/nocontainer/x", nil, nil), 404, "ContainerNotFound")
	expectError(t, signed(t, "PUT", base+"/bad/x?comp=bogus", nil, nil), 400, "InvalidQueryParameterValue")
	// wrong lease
	expectError(t, signed(t, "PUT", base+"/bad/keep?comp=metadata", map[string]string{"x-ms-lease-id": "00000000-0000-0000-0000-000000000009"}, nil), 412, "LeaseNotPresentWithBlobOperation")
	expectError(t, signed(t, "PUT", base+"/bad/keep?comp=lease", map[string]string{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "5"}, nil), 400, "InvalidHeaderValue")
	// page writes out of bounds and unaligned
	expectError(t, signed(t, "PUT", base+"/bad/keep?comp=page", map[string]string{"x-ms-range": "bytes=0-511", "x-ms-page-write": "update"}, make([]byte, 512)), 409, "InvalidBlobType")

	// bad signature, no signature, unknown account
	req, _ := http.NewRequest("GET", base+"/bad/keep", nil)
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Authorization", "SharedKey "+edge.DevAccount+":"+edge.B64(make([]byte, 32)))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	expectError(t, resp, 403, "AuthenticationFailed")
	resp, err = http.Get(base + "/bad/keep")
	must(t, err)
	expectError(t, resp, 404, "ResourceNotFound") // private container: anonymous reads see nothing
	resp, err = http.Get(ts.BlobURL + "/nosuchaccount/bad/keep")
	must(t, err)
	expectError(t, resp, 400, "InvalidUri")

	// an oversized body is refused from its Content-Length, before any byte is read
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.BlobURL, "http://"))
	must(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /%s/bad/huge?comp=page HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nx-ms-date: %s\r\nAuthorization: SharedKey %s:AAAA\r\n\r\n",
		edge.DevAccount, 5<<20, time.Now().UTC().Format(http.TimeFormat), edge.DevAccount)
	r, err := http.ReadResponse(bufio.NewReader(conn), nil)
	must(t, err)
	if r.StatusCode != 403 && r.StatusCode != 413 {
		t.Fatalf("oversized unauthenticated body: %d", r.StatusCode)
	}
	// authenticated oversized page write
	expectError(t, signed(t, "PUT", base+"/bad/keep?comp=page", map[string]string{"x-ms-range": "bytes=0-4194815", "x-ms-page-write": "update"}, make([]byte, 4<<20+512)), 413, "RequestBodyTooLarge")

	// anonymous public reads: only with public access, only reads
	_, err = c.CreateContainer(cx, "pub", nil)
	must(t, err)
	_, err = c.UploadBuffer(cx, "pub", "open", []byte("public"), nil)
	must(t, err)
	signed(t, "PUT", base+"/pub?restype=container&comp=acl", map[string]string{"x-ms-blob-public-access": "blob"}, nil)
	resp, err = http.Get(base + "/pub/open")
	must(t, err)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "public" {
		t.Fatalf("anonymous read of a public blob: %d %q", resp.StatusCode, b)
	}
	resp, err = http.Get(base + "/pub?restype=container&comp=list")
	must(t, err)
	expectError(t, resp, 404, "ResourceNotFound") // blob-level access does not allow listing
	req, _ = http.NewRequest("DELETE", base+"/pub/open", nil)
	resp, err = http.DefaultClient.Do(req)
	must(t, err)
	expectError(t, resp, 401, "NoAuthenticationInformation")

	// after all that, the server still serves and nothing was lost
	got, err := readBlob(c, t, "bad", "keep")
	if err != nil || !bytes.Equal(got, keep) {
		t.Fatalf("stored blob damaged by bad input: %v", err)
	}
}

func TestNamesWithNUL(t *testing.T) {
	ts := startServer(t)
	base := ts.BlobURL + "/" + edge.DevAccount
	expectError(t, signed(t, "PUT", base+"/bad%00c?restype=container", nil, nil), 400, "InvalidUri")
	expectError(t, signed(t, "PUT", base+"/c/b%00x", map[string]string{"x-ms-blob-type": "BlockBlob"}, []byte("x")), 400, "InvalidUri")
	expectError(t, signed(t, "PUT", base+"/c/b%FFx", map[string]string{"x-ms-blob-type": "BlockBlob"}, []byte("x")), 400, "InvalidUri")
}
