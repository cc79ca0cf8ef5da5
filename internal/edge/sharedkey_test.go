package edge

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A request signed the way the Azure REST reference's example describes.
func TestStringToSignBlob(t *testing.T) {
	r, _ := http.NewRequest("PUT", "http://127.0.0.1:10000/devstoreaccount1/c/b%20x?comp=block&blockid=QQ%3D%3D", nil)
	r.Header.Set("x-ms-date", "Mon, 23 Nov 2026 10:00:00 GMT")
	r.Header.Set("x-ms-version", "2021-06-08")
	r.Header.Set("Content-Length", "0")
	r.Header.Set("X-Ms-Meta-B", " two ")
	r.Header.Set("x-ms-meta-a", "one")
	got := StringToSign(FlavorBlobQueue, false, r, "devstoreaccount1", "/devstoreaccount1/c/b%20x")
	want := "PUT\n\n\n\n\n\n\n\n\n\n\n\n" +
		"x-ms-date:Mon, 23 Nov 2026 10:00:00 GMT\nx-ms-meta-a:one\nx-ms-meta-b:two\nx-ms-version:2021-06-08\n" +
		"/devstoreaccount1/devstoreaccount1/c/b%20x\nblockid:QQ==\ncomp:block"
	if got != want {
		t.Fatalf("string to sign:\n%q\nwant\n%q", got, want)
	}
}

func TestStringToSignTable(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://127.0.0.1:10002/devstoreaccount1/Tables?comp=x&$filter=a", nil)
	r.Header.Set("x-ms-date", "D")
	r.Header.Set("Content-Type", "application/json")
	if got := StringToSign(FlavorTable, false, r, "acct", "/acct/Tables"); got != "GET\n\napplication/json\nD\n/acct/acct/Tables?comp=x" {
		t.Fatalf("table SharedKey: %q", got)
	}
	if got := StringToSign(FlavorTable, true, r, "acct", "/acct/Tables"); got != "D\n/acct/acct/Tables?comp=x" {
		t.Fatalf("table SharedKeyLite: %q", got)
	}
}

func FuzzStringToSign(f *testing.F) {
	f.Add("PUT", "/devstoreaccount1/c/b", "comp=block&blockid=QQ%3D%3D", "x-ms-meta-a", "v")
	f.Fuzz(func(t *testing.T, method, path, query, hname, hval string) {
		u := &url.URL{Scheme: "http", Host: "h", Path: path, RawQuery: query}
		r, err := http.NewRequest("GET", u.String(), nil)
		if err != nil {
			return
		}
		r.Method = method
		if hname != "" && !strings.ContainsAny(hname, " \r\n:") {
			r.Header.Set(hname, hval)
		}
		for _, f := range []Flavor{FlavorBlobQueue, FlavorTable} {
			for _, lite := range []bool{false, true} {
				s := StringToSign(f, lite, r, "acct", path)
				if !strings.Contains(s, "/acct"+path) {
					t.Fatalf("resource missing from %q", s)
				}
			}
		}
	})
}
