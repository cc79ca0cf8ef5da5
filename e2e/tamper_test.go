package e2e

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/atrest/atrest/internal/store"
	"github.com/atrest/atrest/internal/store/boltmeta"
)

// extentFiles lists the extent files under a data directory.
func extentFiles(t testing.TB, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	root := filepath.Join(dir, "objects")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if rel, _ := filepath.Rel(root, p); err == nil && !d.IsDir() && !strings.HasPrefix(rel, "tmp") {
			out[p] = true
		}
		return nil
	})
	return out
}

func newFile(t testing.TB, before, after map[string]bool) string {
	t.Helper()
	var found []string
	for p := range after {
		if !before[p] {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("expected one new extent file, got %v", found)
	}
	return found[0]
}

// readBlob downloads a whole blob; it returns an error if the request or the
// body transfer fails.
func readBlob(c *azblob.Client, t testing.TB, container, name string) ([]byte, error) {
	resp, err := c.DownloadStream(ctx(t), container, name, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// TestTamperDetected alters stored bytes the way someone holding the disk
// could, and checks every read fails, never returns altered bytes, and that
// the log and verify name the object.
func TestTamperDetected(t *testing.T) {
	dir := t.TempDir()
	ts := startServerAt(t, dir)
	c := ts.client(t)
	cx := ctx(t)
	_, err := c.CreateContainer(cx, "tam", nil)
	must(t, err)
	bigA, bigB := pattern(1<<20+100, "A"), pattern(1<<20+100, "B")
	small := pattern(5000, "small")
	f0 := extentFiles(t, dir)
	_, err = c.UploadBuffer(cx, "tam", "a.bin", bigA, nil)
	must(t, err)
	f1 := extentFiles(t, dir)
	fileA := newFile(t, f0, f1)
	_, err = c.UploadBuffer(cx, "tam", "b.bin", bigB, nil)
	must(t, err)
	fileB := newFile(t, f1, extentFiles(t, dir))
	_, err = c.UploadBuffer(cx, "tam", "small.bin", small, nil)
	must(t, err)
	ts.stop()

	origA, _ := os.ReadFile(fileA)
	origB, _ := os.ReadFile(fileB)
	restore := func() {
		os.WriteFile(fileA, origA, 0o600)
		os.WriteFile(fileB, origB, 0o600)
	}
	cases := []struct {
		name   string
		mutate func()
		blobs  []string
	}{
		{"flip header byte", func() { flip(fileA, origA, 6) }, []string{"a.bin"}},
		{"flip wrapped key byte", func() { flip(fileA, origA, 40) }, []string{"a.bin"}},
		{"flip content byte", func() { flip(fileA, origA, len(origA)/2) }, []string{"a.bin"}},
		{"flip last tag byte", func() { flip(fileA, origA, len(origA)-1) }, []string{"a.bin"}},
		{"truncate segment", func() { os.WriteFile(fileA, origA[:len(origA)-(100+16)], 0o600) }, []string{"a.bin"}},
		{"truncate byte", func() { os.WriteFile(fileA, origA[:len(origA)-1], 0o600) }, []string{"a.bin"}},
		{"append bytes", func() { os.WriteFile(fileA, append(append([]byte{}, origA...), origA[100:200]...), 0o600) }, []string{"a.bin"}},
		{"swap two blobs", func() { os.WriteFile(fileA, origB, 0o600); os.WriteFile(fileB, origA, 0o600) }, []string{"a.bin", "b.bin"}},
		{"flip inline extent", func() { flipInline(t, dir) }, []string{"small.bin"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			restore()
			tc.mutate()
			if tc.name == "flip inline extent" {
				defer flipInline(t, dir) // flip back
			}
			ts := startServerAt(t, dir)
			c := ts.clientNoRetry(t)
			for _, name := range tc.blobs {
				got, err := readBlob(c, t, "tam", name)
				if err == nil {
					t.Fatalf("%s: tampered blob read back (%d bytes)", name, len(got))
				}
				want := map[string][]byte{"a.bin": bigA, "b.bin": bigB, "small.bin": small}[name]
				if !bytes.Equal(got, want[:min(len(got), len(want))]) {
					t.Fatalf("%s: released altered bytes", name)
				}
				if !strings.Contains(ts.logText(), "tam/"+name) {
					t.Fatalf("log does not name %s:\n%s", name, ts.logText())
				}
			}
			rep, err := ts.Stores.DB.Verify()
			must(t, err)
			if rep.OK() {
				t.Fatal("verify passed a tampered directory")
			}
			for _, name := range tc.blobs {
				if !strings.Contains(strings.Join(append(rep.Failed, rep.Unreadable...), "\n"), "tam/"+name) {
					t.Fatalf("verify does not name %s: %v", name, rep.Failed)
				}
			}
			// an untouched blob still reads
			if !contains(tc.blobs, "small.bin") {
				got, err := readBlob(c, t, "tam", "small.bin")
				if err != nil || !bytes.Equal(got, small) {
					t.Fatalf("untouched blob unreadable: %v", err)
				}
			}
			ts.stop()
		})
	}
	restore()
	ts = startServerAt(t, dir)
	rep, err := ts.Stores.DB.Verify()
	must(t, err)
	if !rep.OK() {
		t.Fatalf("restored directory fails verify: %+v", rep)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func flip(path string, orig []byte, at int) {
	b := append([]byte{}, orig...)
	b[at] ^= 0x01
	os.WriteFile(path, b, 0o600)
}

// flipInline flips one bit in every small extent kept in the metadata store.
func flipInline(t testing.TB, dir string) {
	t.Helper()
	db, err := boltmeta.Open(filepath.Join(dir, "meta.db"))
	must(t, err)
	defer db.Close()
	n := 0
	must(t, db.Update(func(tx store.Tx) error {
		var keys, vals [][]byte
		err := tx.Scan([]byte("i\x00"), nil, func(k, v []byte) error {
			keys = append(keys, append([]byte{}, k...))
			vals = append(vals, append([]byte{}, v...))
			return nil
		})
		for i := range keys {
			vals[i][len(vals[i])-20] ^= 0x80
			tx.Put(keys[i], vals[i])
		}
		n = len(keys)
		return err
	}))
	if n != 1 {
		t.Fatalf("expected one inline extent, found %d", n)
	}
}
