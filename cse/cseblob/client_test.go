package cseblob

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/atrest/atrest/cse"
)

func newKEK(t testing.TB) *cse.AESKEK {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	k, err := cse.NewAESKEK("local:cseblob-test", key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func readAll(t testing.TB, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRoundTrip uploads through atrest in each protocol, in one request and
// in parallel blocks, and checks the stored form and the decrypted result.
func TestRoundTrip(t *testing.T) {
	ctx := testContext(t)
	az := newAzblob(t, startAtrest(t), nil)
	if _, err := az.CreateContainer(ctx, "rtrip", nil); err != nil {
		t.Fatal(err)
	}
	kek := newKEK(t)
	cases := []struct {
		name string
		opts Options
		size int
	}{
		{"2.0-empty", Options{}, 0},
		{"2.0-small", Options{}, 1000},
		{"2.0-blocks", Options{}, 2*cse.DefaultRegionSize + 5},
		{"2.1-blocks", Options{RegionSize: 64 << 10}, 1<<20 + 17},
		{"1.0-blocks", Options{LegacyProtocol1: true}, 1<<20 + 17},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.KEK, tc.opts.RequireEncryption = kek, true
			c, err := NewClient(az, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			pt := randomBytes(tc.size)
			var sent int64
			up, err := c.Upload(ctx, "rtrip", tc.name, bytes.NewReader(pt), &UploadOptions{
				BlockSize: 300 << 10, Concurrency: 3, Metadata: map[string]*string{"owner": to.Ptr("test")},
				Progress: func(n int64) { sent = n },
			})
			if err != nil {
				t.Fatal(err)
			}
			wantSize, _ := up.EncryptionData.CiphertextSize(int64(tc.size))
			if up.Size != wantSize || sent != wantSize {
				t.Fatalf("stored %d, progress %d, want %d", up.Size, sent, wantSize)
			}
			raw, err := az.DownloadStream(ctx, "rtrip", tc.name, nil)
			if err != nil {
				t.Fatal(err)
			}
			stored := readAll(t, raw.Body)
			if int64(len(stored)) != wantSize || (tc.size > 0 && bytes.Contains(stored, pt[:min(64, tc.size)])) {
				t.Fatalf("stored %d bytes, want %d ciphertext bytes", len(stored), wantSize)
			}
			doc, ok := encryptionData(raw.Metadata)
			if !ok || !strings.Contains(doc, `"Protocol": "`+up.EncryptionData.EncryptionAgent.Protocol+`"`) {
				t.Fatalf("metadata %v", raw.Metadata)
			}

			d, err := c.Download(ctx, "rtrip", tc.name, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, d.Body); !bytes.Equal(got, pt) {
				t.Fatalf("downloaded %d bytes, differ from %d uploaded", len(got), len(pt))
			}
			if tc.opts.LegacyProtocol1 != (d.Size == -1) || (d.Size >= 0 && d.Size != int64(tc.size)) {
				t.Errorf("Size %d for %d plaintext bytes", d.Size, tc.size)
			}
			if len(d.Metadata) != 1 || *d.Metadata["Owner"] != "test" {
				t.Errorf("user metadata %v", d.Metadata)
			}
		})
	}
}

// TestRangedDownload checks ranged reads against the plaintext and that
// only the regions (or 1.0 blocks and their IV block) holding the range
// are fetched.
func TestRangedDownload(t *testing.T) {
	ctx := testContext(t)
	rec := &recorder{}
	az := newAzblob(t, startAtrest(t), rec)
	if _, err := az.CreateContainer(ctx, "rng", nil); err != nil {
		t.Fatal(err)
	}
	kek := newKEK(t)
	pt := randomBytes(1000*10 + 123)
	for _, o := range []Options{{RegionSize: 1000}, {LegacyProtocol1: true}} {
		o.KEK = kek
		c, _ := NewClient(az, o)
		name := fmt.Sprintf("r-%d-%v", o.RegionSize, o.LegacyProtocol1)
		up, err := c.Upload(ctx, "rng", name, bytes.NewReader(pt), nil)
		if err != nil {
			t.Fatal(err)
		}
		stored := up.Size
		for _, r := range []blob.HTTPRange{{Offset: 0, Count: 1}, {Offset: 999, Count: 2}, {Offset: 2500, Count: 3000},
			{Offset: 10000, Count: 0}, {Offset: 10122, Count: 1}, {Offset: 17, Count: 100000}, {Offset: 4321, Count: 0}} {
			rec.take()
			d, err := c.Download(ctx, "rng", name, &DownloadOptions{Range: r})
			if err != nil {
				t.Fatalf("%s %+v: %v", name, r, err)
			}
			got := readAll(t, d.Body)
			end := int64(len(pt))
			if r.Count > 0 {
				end = min(end, r.Offset+r.Count)
			}
			if !bytes.Equal(got, pt[r.Offset:end]) {
				t.Fatalf("%s %+v: got %d bytes, want %d", name, r, len(got), end-r.Offset)
			}
			want, _ := up.EncryptionData.CiphertextRange(r.Offset, max(end-r.Offset, 1), stored)
			reqs := rec.take()
			last := reqs[len(reqs)-1]
			if len(reqs) != 2 || last.method != "GET" || last.rangeHdr != want.String() || last.served != want.Length() {
				t.Fatalf("%s %+v: requests %+v, want one GET of %s", name, r, reqs, want)
			}
		}
		// Past the end: 2.x knows the plaintext size; 1.0 finds nothing there.
		d, err := c.Download(ctx, "rng", name, &DownloadOptions{Range: blob.HTTPRange{Offset: int64(len(pt)) + 16, Count: 1}})
		if o.LegacyProtocol1 && err == nil {
			if got := readAll(t, d.Body); len(got) != 0 {
				t.Errorf("1.0 range past the end: %d bytes", len(got))
			}
		} else if !errors.Is(err, cse.ErrInvalidRange) {
			t.Errorf("range past the end: %v", err)
		}
	}
}

// TestRequireEncryption checks that plaintext blobs pass only without
// RequireEncryption, and that an unknown protocol fails either way.
func TestRequireEncryption(t *testing.T) {
	ctx := testContext(t)
	az := newAzblob(t, startAtrest(t), nil)
	if _, err := az.CreateContainer(ctx, "req", nil); err != nil {
		t.Fatal(err)
	}
	kek := newKEK(t)
	strict, _ := NewClient(az, Options{KEK: kek, RequireEncryption: true})
	lax, _ := NewClient(az, Options{KEK: kek})
	if _, err := az.UploadBuffer(ctx, "req", "plain", []byte("not encrypted"), nil); err != nil {
		t.Fatal(err)
	}
	for want, o := range map[string]*DownloadOptions{"not encrypted": nil, "enc": {Range: blob.HTTPRange{Offset: 4, Count: 3}}} {
		if _, err := strict.Download(ctx, "req", "plain", o); !errors.Is(err, cse.ErrNotEncrypted) {
			t.Errorf("strict download of a plaintext blob: %v", err)
		}
		d, err := lax.Download(ctx, "req", "plain", o)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(readAll(t, d.Body)); got != want || d.EncryptionData != nil {
			t.Errorf("lax download: %q, want %q", got, want)
		}
	}
	if _, err := strict.GetProperties(ctx, "req", "plain", nil); !errors.Is(err, cse.ErrNotEncrypted) {
		t.Errorf("strict properties: %v", err)
	}

	// An encrypted blob relabelled to an unknown protocol fails closed.
	if _, err := lax.Upload(ctx, "req", "enc", strings.NewReader("secret"), nil); err != nil {
		t.Fatal(err)
	}
	p, err := lax.GetProperties(ctx, "req", "enc", nil)
	if err != nil || p.Size != 6 {
		t.Fatalf("properties: %+v, %v", p, err)
	}
	relabelled := strings.Replace(p.EncryptionData.String(), `"Protocol": "2.0"`, `"Protocol": "9.9"`, 1)
	bb := lax.BlockBlobClient("req", "enc")
	if _, err := bb.SetMetadata(ctx, map[string]*string{cse.MetadataKey: &relabelled}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{strict, lax} {
		for _, o := range []*DownloadOptions{nil, {Range: blob.HTTPRange{Offset: 1, Count: 2}}} {
			if _, err := c.Download(ctx, "req", "enc", o); !errors.Is(err, cse.ErrUnsupported) {
				t.Errorf("unknown protocol: %v", err)
			}
		}
	}
}

// TestSetMetadataKeepsDocument checks that metadata updates keep the blob
// readable and that the document's name is reserved.
func TestSetMetadataKeepsDocument(t *testing.T) {
	ctx := testContext(t)
	az := newAzblob(t, startAtrest(t), nil)
	if _, err := az.CreateContainer(ctx, "meta", nil); err != nil {
		t.Fatal(err)
	}
	c, _ := NewClient(az, Options{KEK: newKEK(t), RequireEncryption: true})
	if _, err := c.Upload(ctx, "meta", "b", strings.NewReader("payload"), &UploadOptions{Metadata: map[string]*string{"a": to.Ptr("1")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetMetadata(ctx, "meta", "b", map[string]*string{"b": to.Ptr("2")}, nil); err != nil {
		t.Fatal(err)
	}
	d, err := c.Download(ctx, "meta", "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(readAll(t, d.Body)); got != "payload" || len(d.Metadata) != 1 || *d.Metadata["B"] != "2" {
		t.Fatalf("after SetMetadata: %q, %v", got, d.Metadata)
	}
	for _, key := range []string{"encryptiondata", "EncryptionData"} {
		if _, err := c.SetMetadata(ctx, "meta", "b", map[string]*string{key: to.Ptr("x")}, nil); !errors.Is(err, ErrReservedMetadata) {
			t.Errorf("SetMetadata %s: %v", key, err)
		}
		if _, err := c.Upload(ctx, "meta", "c", strings.NewReader("x"), &UploadOptions{Metadata: map[string]*string{key: to.Ptr("x")}}); !errors.Is(err, ErrReservedMetadata) {
			t.Errorf("Upload with %s: %v", key, err)
		}
	}
	// A stale ETag from the caller is honoured.
	stale := azcore.ETag(`"0x1"`)
	_, err = c.SetMetadata(ctx, "meta", "b", nil, &SetMetadataOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &stale}}})
	if err == nil {
		t.Error("SetMetadata with a stale ETag succeeded")
	}
}

// TestTamperedBlob rewrites one stored byte and expects the one opaque
// error, for whole and ranged reads, and no plaintext before it.
func TestTamperedBlob(t *testing.T) {
	ctx := testContext(t)
	az := newAzblob(t, startAtrest(t), nil)
	if _, err := az.CreateContainer(ctx, "tamper", nil); err != nil {
		t.Fatal(err)
	}
	c, _ := NewClient(az, Options{KEK: newKEK(t), RegionSize: 4096, RequireEncryption: true})
	pt := randomBytes(3 * 4096)
	if _, err := c.Upload(ctx, "tamper", "b", bytes.NewReader(pt), nil); err != nil {
		t.Fatal(err)
	}
	raw, err := az.DownloadStream(ctx, "tamper", "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	stored := readAll(t, raw.Body)
	stored[2*(4096+28)+100] ^= 1 // inside region 2
	bb := c.BlockBlobClient("tamper", "b")
	if _, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(stored)), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.SetMetadata(ctx, raw.Metadata, nil); err != nil {
		t.Fatal(err)
	}
	d, err := c.Download(ctx, "tamper", "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(d.Body)
	if !errors.Is(err, cse.ErrDecrypt) || !bytes.Equal(got, pt[:2*4096]) {
		t.Fatalf("whole read: %d bytes, %v", len(got), err)
	}
	d, err = c.Download(ctx, "tamper", "b", &DownloadOptions{Range: blob.HTTPRange{Offset: 2*4096 + 1, Count: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(d.Body); !errors.Is(err, cse.ErrDecrypt) || len(got) != 0 {
		t.Fatalf("ranged read: %d bytes, %v", len(got), err)
	}
}
