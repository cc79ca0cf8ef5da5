package cseblob

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/atrest/atrest/internal/atresttest"
)

// startAtrest runs atrest in-process and returns its connection string.
func startAtrest(t testing.TB) string {
	t.Helper()
	return atresttest.ConnectionString(atresttest.Start(t))
}

// recorder is an HTTP transport that notes each request's method, range
// and served body size.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, rangeHdr string
	served           int64
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{method: req.Method, rangeHdr: strings.Join(req.Header["x-ms-range"], ","), served: resp.ContentLength})
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

func newAzblob(t testing.TB, conn string, tr policy.Transporter) *azblob.Client {
	t.Helper()
	o := &azblob.ClientOptions{}
	if tr != nil {
		o.ClientOptions = azcore.ClientOptions{Transport: tr}
	}
	c, err := azblob.NewClientFromConnectionString(conn, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testContext(t testing.TB) context.Context { return atresttest.Context(t) }
