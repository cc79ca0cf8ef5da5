package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/rewrap"
	"github.com/atrest/atrest/internal/server"
	"github.com/atrest/atrest/internal/sse"
)

// extentBodies reads every extent file under dir, minus its header.
func extentBodies(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.WalkDir(filepath.Join(dir, "objects"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(filepath.Dir(p)) == "tmp" {
			return err
		}
		b, _ := os.ReadFile(p)
		if _, n, err := sse.ParseHeader(b); err == nil {
			out[filepath.Base(p)] = b[n:]
		}
		return nil
	})
	return out
}

// TestRewrapAfterSwitchToCustomerManagedKey: data written under the
// service-managed key is re-wrapped in the background once the account
// switches to a Key Vault key — so revoking that key revokes the old data
// too — without a byte of content ciphertext changing; the offline job
// then finds everything current.
func TestRewrapAfterSwitchToCustomerManagedKey(t *testing.T) {
	ts := startServer(t, withHTTPS(), withKeys(server.KeyConfig{CMKCacheTTL: cmkWindow}))
	cx := ctx(t)
	path, key, _ := cmkSetup(t, ts, "rwv", "k1", "rwacct")
	dc := accountClients(t, ts, "rwacct", key)
	_, err := dc.blob.CreateContainer(cx, "cont1", nil)
	must(t, err)
	big := pattern(600<<10, "rewrap")
	for i := 0; i < 20; i++ {
		_, err := dc.blob.UploadBuffer(cx, "cont1", fmt.Sprintf("b%02d", i), big[:(i+1)*30000], nil)
		must(t, err)
	}
	_, err = dc.blob.UploadBuffer(cx, "cont1", "big", big, nil)
	must(t, err)
	before := extentBodies(t, ts.dir)
	if len(before) == 0 {
		t.Fatal("no extent files")
	}

	useCMK(t, ts, path, "rwv", "k1", "")
	deadline := time.Now().Add(30 * time.Second)
	var st *rewrap.State
	for {
		st, err = rewrap.Load(ts.Stores.DB, "rwacct")
		must(t, err)
		if st != nil && st.Phase == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rewrap did not finish: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Stats.Rewrapped < 21 || st.Stats.Unavailable != 0 {
		t.Fatalf("rewrap report: %+v", st.Stats)
	}
	after := extentBodies(t, ts.dir)
	for id, b := range before {
		if !bytes.Equal(after[id], b) {
			t.Fatalf("extent %s: content ciphertext changed", id)
		}
	}
	r, err := dc.blob.DownloadStream(cx, "cont1", "big", nil)
	must(t, err)
	if got, _ := readAllClose(r.Body); !bytes.Equal(got, big) {
		t.Fatal("content differs after rewrap")
	}
	// the old data now answers to the Key Vault key
	kvAdmin(t, ts, "UpdateKey", "rwv", "k1", "", map[string]any{"attributes": map[string]any{"enabled": false}})
	within(t, cmkWindow+3*time.Second, "old blob after disabling the key", "KeyVaultEncryptionKeyNotFound", func() string {
		r, err := dc.blob.DownloadStream(cx, "cont1", "b03", nil)
		if err == nil {
			readAllClose(r.Body)
		}
		return errorCode(err)
	})
	kvAdmin(t, ts, "UpdateKey", "rwv", "k1", "", map[string]any{"attributes": map[string]any{"enabled": true}})
	ts.stop()

	out, err := runAtrest(t, "rewrap", "--data", ts.dir, "--batch", "7", "rwacct")
	if err != nil || !strings.Contains(out, "rewrapped 0") {
		t.Fatalf("offline rewrap: %v\n%s", err, out)
	}
	if out, err := runAtrest(t, "verify", "--data", ts.dir); err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}
