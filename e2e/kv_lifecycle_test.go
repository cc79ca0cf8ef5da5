package e2e

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// advance moves the server clock forward the way an operator does.
func advance(t testing.TB, ts *testServer, by string) map[string]any {
	t.Helper()
	var out map[string]any
	adminDo(t, ts, "clock.advance", map[string]any{"by": by}, &out)
	return out
}

// TestKVGoLifecycle: soft delete and recover, purge refused under purge
// protection, backup -> purge -> restore, rotation (manual and by policy
// after a time shift) and retention-driven purge, with azkeys.
func TestKVGoLifecycle(t *testing.T) {
	ts := startServer(t)
	hc := kvTransport(t, ts.CAFile)
	adminDo(t, ts, "vault.create", map[string]any{"name": "soft", "retentionDays": 7}, nil)
	adminDo(t, ts, "vault.create", map[string]any{"name": "locked", "retentionDays": 10, "purgeProtection": true}, nil)
	officer := newPrincipal(t, ts, "officer", "Key Vault Crypto Officer", "/")
	cred := goCredential(t, ts, officer, hc)
	soft := goKeyClient(t, vaultURL(ts, "soft"), cred, hc)
	locked := goKeyClient(t, vaultURL(ts, "locked"), cred, hc)
	c := ctx(t)
	rsaKey := azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA), KeySize: to.Ptr(int32(2048))}
	oaep := to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256)
	cek := []byte("a 32-byte content encryption key")

	t.Run("delete and recover", func(t *testing.T) {
		k := get(soft.CreateKey(c, "k1", rsaKey, nil))(t)
		w := get(soft.WrapKey(c, "k1", "", azkeys.KeyOperationParameters{Algorithm: oaep, Value: cek}, nil))(t)
		d := get(soft.DeleteKey(c, "k1", nil))(t)
		if *d.RecoveryID != vaultURL(ts, "soft")+"/deletedkeys/k1" || d.ScheduledPurgeDate.Sub(*d.DeletedDate) != 7*24*time.Hour ||
			*d.Attributes.RecoveryLevel != "CustomizedRecoverable+Purgeable" || *d.Attributes.RecoverableDays != 7 {
			t.Fatalf("deleted bundle: %+v %+v", d.DeletedKey, d.Attributes)
		}
		_, err := soft.GetKey(c, "k1", "", nil)
		kvWantCode(t, err, http.StatusNotFound, "KeyNotFound")
		_, err = soft.UnwrapKey(c, "k1", k.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: oaep, Value: w.Result}, nil)
		kvWantCode(t, err, http.StatusNotFound, "KeyNotFound")
		_, err = soft.CreateKey(c, "k1", rsaKey, nil)
		kvWantCode(t, err, http.StatusConflict, "Conflict")
		got := get(soft.GetDeletedKey(c, "k1", nil))(t)
		if *got.Key.KID != *k.Key.KID {
			t.Fatalf("deleted key kid %s", *got.Key.KID)
		}
		n := 0
		for p := soft.NewListDeletedKeyPropertiesPager(nil); p.More(); {
			n += len(get(p.NextPage(c))(t).Value)
		}
		if n != 1 {
			t.Fatalf("%d deleted keys listed", n)
		}
		get(soft.RecoverDeletedKey(c, "k1", nil))(t)
		u := get(soft.UnwrapKey(c, "k1", k.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: oaep, Value: w.Result}, nil))(t)
		if !bytes.Equal(u.Result, cek) {
			t.Fatal("recovered key does not unwrap")
		}
		_, err = soft.GetDeletedKey(c, "k1", nil)
		kvWantCode(t, err, http.StatusNotFound, "KeyNotFound")
	})

	t.Run("purge protection", func(t *testing.T) {
		get(locked.CreateKey(c, "held", rsaKey, nil))(t)
		d := get(locked.DeleteKey(c, "held", nil))(t)
		if *d.Attributes.RecoveryLevel != "CustomizedRecoverable" {
			t.Fatalf("recovery level %s", *d.Attributes.RecoveryLevel)
		}
		_, err := locked.PurgeDeletedKey(c, "held", nil)
		kvWantCode(t, err, http.StatusForbidden, "Forbidden")
		get(locked.GetDeletedKey(c, "held", nil))(t) // still there
	})

	t.Run("backup purge restore", func(t *testing.T) {
		k := get(soft.CreateKey(c, "opaque-key-bk", rsaKey, nil))(t)
		get(soft.RotateKey(c, "opaque-key-bk", nil))(t)
		w := get(soft.WrapKey(c, "opaque-key-bk", k.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: oaep, Value: cek}, nil))(t)
		b := get(soft.BackupKey(c, "opaque-key-bk", nil))(t)
		if bytes.Contains(b.Value, []byte("opaque-key-bk")) || bytes.Contains(b.Value, k.Key.N[:16]) || len(b.Value) < 2000 {
			t.Fatalf("backup is not opaque (%d bytes)", len(b.Value))
		}
		_, err := soft.RestoreKey(c, azkeys.RestoreKeyParameters{KeyBackup: b.Value}, nil)
		kvWantCode(t, err, http.StatusConflict, "Conflict") // the key still exists
		get(soft.DeleteKey(c, "opaque-key-bk", nil))(t)
		get(soft.PurgeDeletedKey(c, "opaque-key-bk", nil))(t)
		_, err = soft.GetDeletedKey(c, "opaque-key-bk", nil)
		kvWantCode(t, err, http.StatusNotFound, "KeyNotFound")
		r := get(soft.RestoreKey(c, azkeys.RestoreKeyParameters{KeyBackup: b.Value}, nil))(t)
		if r.Key.KID.Name() != "opaque-key-bk" {
			t.Fatalf("restored %s", *r.Key.KID)
		}
		u := get(soft.UnwrapKey(c, "opaque-key-bk", k.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: oaep, Value: w.Result}, nil))(t)
		if !bytes.Equal(u.Result, cek) {
			t.Fatal("restored key does not unwrap what the original wrapped")
		}
		versions := 0
		for p := soft.NewListKeyPropertiesVersionsPager("opaque-key-bk", nil); p.More(); {
			versions += len(get(p.NextPage(c))(t).Value)
		}
		if versions != 2 {
			t.Fatalf("restored %d versions, want 2", versions)
		}
		// Restoring into another vault of the same installation works too.
		get(locked.RestoreKey(c, azkeys.RestoreKeyParameters{KeyBackup: b.Value}, nil))(t)
		tampered := append([]byte(nil), b.Value...)
		tampered[len(tampered)/2] ^= 1
		get(soft.DeleteKey(c, "opaque-key-bk", nil))(t)
		get(soft.PurgeDeletedKey(c, "opaque-key-bk", nil))(t)
		_, err = soft.RestoreKey(c, azkeys.RestoreKeyParameters{KeyBackup: tampered}, nil)
		kvWantCode(t, err, http.StatusBadRequest, "BadParameter")
	})

	t.Run("rotation policy and time shift", func(t *testing.T) {
		k := get(soft.CreateKey(c, "rot", rsaKey, nil))(t)
		w := get(soft.WrapKey(c, "rot", "", azkeys.KeyOperationParameters{Algorithm: oaep, Value: cek}, nil))(t)
		def := get(soft.GetKeyRotationPolicy(c, "rot", nil))(t)
		if len(def.LifetimeActions) != 1 || *def.LifetimeActions[0].Action.Type != azkeys.KeyRotationPolicyActionNotify {
			t.Fatalf("default policy %+v", def.KeyRotationPolicy)
		}
		pol := get(soft.UpdateKeyRotationPolicy(c, "rot", azkeys.KeyRotationPolicy{
			Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P90D")},
			LifetimeActions: []*azkeys.LifetimeAction{
				{Action: &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionRotate)}, Trigger: &azkeys.LifetimeActionTrigger{TimeAfterCreate: to.Ptr("P30D")}},
				{Action: &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionNotify)}, Trigger: &azkeys.LifetimeActionTrigger{TimeBeforeExpiry: to.Ptr("P10D")}},
			}}, nil))(t)
		if *pol.ID != vaultURL(ts, "soft")+"/keys/rot/rotationpolicy" || *pol.Attributes.ExpiryTime != "P90D" || len(pol.LifetimeActions) != 2 {
			t.Fatalf("policy %+v", pol.KeyRotationPolicy)
		}
		_, err := soft.UpdateKeyRotationPolicy(c, "rot", azkeys.KeyRotationPolicy{Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P1D")}}, nil)
		kvWantCode(t, err, http.StatusBadRequest, "BadParameter")

		// A manual rotation now follows the policy's expiry.
		m := get(soft.RotateKey(c, "rot", nil))(t)
		if got := m.Attributes.Expires.Sub(*m.Attributes.Created); got != 90*24*time.Hour {
			t.Fatalf("rotated version expires after %s, want 90 days", got)
		}
		rep := advance(t, ts, "29d")
		if n := len(rep["sweep"].(map[string]any)["rotated"].([]any)); n != 0 {
			t.Fatalf("rotated after 29 days: %v", rep)
		}
		rep = advance(t, ts, "2d")
		if rot := rep["sweep"].(map[string]any)["rotated"].([]any); len(rot) != 1 || rot[0] != "soft/rot" {
			t.Fatalf("after 31 days the sweep rotated %v", rot)
		}
		latest := get(soft.GetKey(c, "rot", "", nil))(t)
		if latest.Key.KID.Version() == m.Key.KID.Version() || latest.Key.KID.Version() == k.Key.KID.Version() {
			t.Fatal("the policy did not make a new version")
		}
		if d := latest.Attributes.Created.Sub(*m.Attributes.Created); d < 31*24*time.Hour {
			t.Fatalf("new version created %s after the manual one; the service clock did not move", d)
		}
		u := get(soft.UnwrapKey(c, "rot", k.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: oaep, Value: w.Result}, nil))(t)
		if !bytes.Equal(u.Result, cek) {
			t.Fatal("the first version no longer unwraps")
		}
		// The first version (no expiry) is still usable; the manual one has
		// now passed its not-expired window only after 90 days.
		advance(t, ts, "60d")
		_, err = soft.WrapKey(c, "rot", m.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: oaep, Value: cek}, nil)
		kvWantCode(t, err, http.StatusForbidden, "Forbidden")
	})

	t.Run("retention ends", func(t *testing.T) {
		// "held" was deleted in a purge-protected vault with 10 days'
		// retention; the clock has moved 91 days since.
		_, err := locked.GetDeletedKey(c, "held", nil)
		kvWantCode(t, err, http.StatusNotFound, "KeyNotFound")
		get(soft.CreateKey(c, "gone", rsaKey, nil))(t)
		get(soft.DeleteKey(c, "gone", nil))(t)
		rep := advance(t, ts, "8d")
		if p := rep["sweep"].(map[string]any)["purged"].([]any); len(p) != 1 || p[0] != "soft/gone" {
			t.Fatalf("purged %v", p)
		}
		get(soft.CreateKey(c, "gone", rsaKey, nil))(t) // the name is free again
	})
}
