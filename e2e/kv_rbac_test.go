package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/atrest/atrest/internal/admin"
	"github.com/atrest/atrest/internal/audit"
)

// adminKey runs a Key Vault operation as the installation administrator.
func adminKey(t testing.TB, ts *testServer, op, vault, name, version string, body any) map[string]any {
	t.Helper()
	var b json.RawMessage
	if body != nil {
		b, _ = json.Marshal(body)
	}
	var out map[string]any
	adminDo(t, ts, "key.op", admin.KeyOpArgs{Operation: op, Vault: vault, Name: name, Version: version, Body: b}, &out)
	return out
}

// The expected matrix, written out by hand from Azure's role definitions:
// Administrator, Crypto Officer, Crypto User, Crypto Service Encryption
// User, Reader, and a principal with no assignment.
var rbacRoles = []string{"Key Vault Administrator", "Key Vault Crypto Officer", "Key Vault Crypto User",
	"Key Vault Crypto Service Encryption User", "Key Vault Reader", ""}

var rbacExpect = map[string]string{ // operation -> allowed per role, in rbacRoles order
	"GetKey":                  "YYYYYN",
	"GetKeys":                 "YYYYYN",
	"GetKeyVersions":          "YYYYYN",
	"CreateKey":               "YYNNNN",
	"ImportKey":               "YYNNNN",
	"UpdateKey":               "YYYNNN",
	"DeleteKey":               "YYNNNN",
	"GetDeletedKey":           "YYNNYN",
	"GetDeletedKeys":          "YYNNYN",
	"RecoverDeletedKey":       "YYNNNN",
	"PurgeDeletedKey":         "YYNNNN",
	"BackupKey":               "YYYNNN",
	"RestoreKey":              "YYNNNN",
	"RotateKey":               "YYNNNN",
	"GetKeyRotationPolicy":    "YYNNYN",
	"UpdateKeyRotationPolicy": "YYNNNN",
	"Encrypt":                 "YYYNNN",
	"Decrypt":                 "YYYNNN",
	"WrapKey":                 "YYYYNN",
	"UnwrapKey":               "YYYYNN",
	"Sign":                    "YYYNNN",
	"Verify":                  "YYYNNN",
	"GetRandomBytes":          "YYYNNN",
}

// TestKVRBACMatrix tries every operation as every role through the Go
// azkeys client: allowed operations succeed, the rest are 403 Forbidden
// (innererror ForbiddenByRbac), and every attempt is in the audit log with
// its caller and result.
func TestKVRBACMatrix(t *testing.T) {
	ts := startServer(t)
	hc := kvTransport(t, ts.CAFile)
	const v = "rbac"
	adminDo(t, ts, "vault.create", map[string]any{"name": v, "retentionDays": 7}, nil)
	c := ctx(t)
	adminKey(t, ts, "CreateKey", v, "shared", "", map[string]any{"kty": "RSA", "key_size": 2048})
	ct := adminKey(t, ts, "Encrypt", v, "shared", "", map[string]any{"alg": "RSA-OAEP", "value": "c2VjcmV0"})["value"].(string)
	wrapped := adminKey(t, ts, "WrapKey", v, "shared", "", map[string]any{"alg": "RSA-OAEP-256", "value": "MDEyMzQ1Njc4OWFiY2RlZg"})["value"].(string)
	digest := sha256.Sum256([]byte("m"))
	sig := adminKey(t, ts, "Sign", v, "shared", "", map[string]any{"alg": "RS256", "value": digest[:]})["value"].(string)
	b64 := func(s string) []byte {
		var out []byte
		if err := json.Unmarshal([]byte(`"`+base64Std(s)+`"`), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	oct := map[string]any{"kty": "oct", "key_size": 128}

	// Each operation prepares what it needs as the administrator (with names
	// unique to the role), then calls the official client.
	ops := map[string]func(kc *azkeys.Client, r string) error{
		"GetKey": func(kc *azkeys.Client, r string) error { _, err := kc.GetKey(c, "shared", "", nil); return err },
		"GetKeys": func(kc *azkeys.Client, r string) error {
			_, err := kc.NewListKeyPropertiesPager(nil).NextPage(c)
			return err
		},
		"GetKeyVersions": func(kc *azkeys.Client, r string) error {
			_, err := kc.NewListKeyPropertiesVersionsPager("shared", nil).NextPage(c)
			return err
		},
		"CreateKey": func(kc *azkeys.Client, r string) error {
			_, err := kc.CreateKey(c, "create-"+r, azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeOct)}, nil)
			return err
		},
		"ImportKey": func(kc *azkeys.Client, r string) error {
			_, err := kc.ImportKey(c, "import-"+r, azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeOct), K: make([]byte, 16)}}, nil)
			return err
		},
		"UpdateKey": func(kc *azkeys.Client, r string) error {
			_, err := kc.UpdateKey(c, "shared", "", azkeys.UpdateKeyParameters{Tags: map[string]*string{"by": to.Ptr(r)}}, nil)
			return err
		},
		"DeleteKey": func(kc *azkeys.Client, r string) error {
			adminKey(t, ts, "CreateKey", v, "del-"+r, "", oct)
			_, err := kc.DeleteKey(c, "del-"+r, nil)
			return err
		},
		"GetDeletedKey": func(kc *azkeys.Client, r string) error {
			adminKey(t, ts, "CreateKey", v, "gd-"+r, "", oct)
			adminKey(t, ts, "DeleteKey", v, "gd-"+r, "", nil)
			_, err := kc.GetDeletedKey(c, "gd-"+r, nil)
			return err
		},
		"GetDeletedKeys": func(kc *azkeys.Client, r string) error {
			_, err := kc.NewListDeletedKeyPropertiesPager(nil).NextPage(c)
			return err
		},
		"RecoverDeletedKey": func(kc *azkeys.Client, r string) error {
			adminKey(t, ts, "CreateKey", v, "rec-"+r, "", oct)
			adminKey(t, ts, "DeleteKey", v, "rec-"+r, "", nil)
			_, err := kc.RecoverDeletedKey(c, "rec-"+r, nil)
			return err
		},
		"PurgeDeletedKey": func(kc *azkeys.Client, r string) error {
			adminKey(t, ts, "CreateKey", v, "pur-"+r, "", oct)
			adminKey(t, ts, "DeleteKey", v, "pur-"+r, "", nil)
			_, err := kc.PurgeDeletedKey(c, "pur-"+r, nil)
			return err
		},
		"BackupKey": func(kc *azkeys.Client, r string) error { _, err := kc.BackupKey(c, "shared", nil); return err },
		"RestoreKey": func(kc *azkeys.Client, r string) error {
			adminKey(t, ts, "CreateKey", v, "rs-"+r, "", oct)
			blob := adminKey(t, ts, "BackupKey", v, "rs-"+r, "", nil)["value"].(string)
			adminKey(t, ts, "DeleteKey", v, "rs-"+r, "", nil)
			adminKey(t, ts, "PurgeDeletedKey", v, "rs-"+r, "", nil)
			_, err := kc.RestoreKey(c, azkeys.RestoreKeyParameters{KeyBackup: b64(blob)}, nil)
			return err
		},
		"RotateKey": func(kc *azkeys.Client, r string) error {
			adminKey(t, ts, "CreateKey", v, "rot-"+r, "", oct)
			_, err := kc.RotateKey(c, "rot-"+r, nil)
			return err
		},
		"GetKeyRotationPolicy": func(kc *azkeys.Client, r string) error {
			_, err := kc.GetKeyRotationPolicy(c, "shared", nil)
			return err
		},
		"UpdateKeyRotationPolicy": func(kc *azkeys.Client, r string) error {
			_, err := kc.UpdateKeyRotationPolicy(c, "shared", azkeys.KeyRotationPolicy{Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P60D")}}, nil)
			return err
		},
		"Encrypt": func(kc *azkeys.Client, r string) error {
			_, err := kc.Encrypt(c, "shared", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: []byte("x")}, nil)
			return err
		},
		"Decrypt": func(kc *azkeys.Client, r string) error {
			_, err := kc.Decrypt(c, "shared", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: b64(ct)}, nil)
			return err
		},
		"WrapKey": func(kc *azkeys.Client, r string) error {
			_, err := kc.WrapKey(c, "shared", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: make([]byte, 32)}, nil)
			return err
		},
		"UnwrapKey": func(kc *azkeys.Client, r string) error {
			_, err := kc.UnwrapKey(c, "shared", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: b64(wrapped)}, nil)
			return err
		},
		"Sign": func(kc *azkeys.Client, r string) error {
			_, err := kc.Sign(c, "shared", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest[:]}, nil)
			return err
		},
		"Verify": func(kc *azkeys.Client, r string) error {
			_, err := kc.Verify(c, "shared", "", azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Digest: digest[:], Signature: b64(sig)}, nil)
			return err
		},
		"GetRandomBytes": func(kc *azkeys.Client, r string) error {
			_, err := kc.GetRandomBytes(c, azkeys.GetRandomBytesParameters{Count: to.Ptr(int32(16))}, nil)
			return err
		},
	}
	if len(ops) != len(rbacExpect) {
		t.Fatalf("%d operations tried, %d expected", len(ops), len(rbacExpect))
	}

	type attempt struct{ oid, op, result string }
	var attempts []attempt
	for i, role := range rbacRoles {
		short := fmt.Sprintf("r%d", i)
		scope := ""
		if role != "" {
			scope = "/vaults/" + v
		}
		p := newPrincipal(t, ts, "p-"+short, role, scope)
		kc := goKeyClient(t, vaultURL(ts, v), goCredential(t, ts, p, hc), hc)
		for op, fn := range ops {
			allowed := rbacExpect[op][i] == 'Y'
			err := fn(kc, short)
			var re *azcore.ResponseError
			switch {
			case allowed && err != nil:
				t.Errorf("%s as %q: want allowed, got %v", op, role, err)
			case !allowed && !(errors.As(err, &re) && re.StatusCode == http.StatusForbidden && re.ErrorCode == "Forbidden"):
				t.Errorf("%s as %q: want 403 Forbidden, got %v", op, role, err)
			case !allowed && !strings.Contains(err.Error(), "ForbiddenByRbac"):
				t.Errorf("%s as %q: the 403 does not say ForbiddenByRbac: %v", op, role, err)
			}
			want := audit.Allowed
			if !allowed {
				want = audit.Denied
			}
			attempts = append(attempts, attempt{p.ObjectID, op, want})
		}
	}

	// Every attempt is one audit event with the caller and the outcome.
	seen := map[attempt]int{}
	err := ts.Admin().ReadAudit(admin.AuditArgs{Vault: v}, func(e audit.Event) error {
		seen[attempt{e.Caller, e.Operation, e.Result}]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attempts {
		if seen[a] != 1 {
			t.Errorf("audit: %d events for %+v, want 1", seen[a], a)
		}
	}
	t.Logf("%d role/operation attempts, all audited", len(attempts))
}

// TestKVRBACKeyScope: a role assigned at one key's scope reaches that key
// only; vault-level operations stay out of reach.
func TestKVRBACKeyScope(t *testing.T) {
	ts := startServer(t)
	hc := kvTransport(t, ts.CAFile)
	adminDo(t, ts, "vault.create", map[string]any{"name": "kv0"}, nil)
	adminDo(t, ts, "vault.create", map[string]any{"name": "other"}, nil)
	for _, vk := range [][2]string{{"kv0", "mine"}, {"kv0", "theirs"}, {"other", "mine"}} {
		adminKey(t, ts, "CreateKey", vk[0], vk[1], "", map[string]any{"kty": "oct"})
	}
	p := newPrincipal(t, ts, "scoped", "Key Vault Crypto User", "/vaults/kv0/keys/mine")
	cred := goCredential(t, ts, p, hc)
	kc := goKeyClient(t, vaultURL(ts, "kv0"), cred, hc)
	oc := goKeyClient(t, vaultURL(ts, "other"), cred, hc)
	c := ctx(t)
	wrap := azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256KW), Value: make([]byte, 32)}
	get(kc.WrapKey(c, "mine", "", wrap, nil))(t)
	_, err := kc.WrapKey(c, "theirs", "", wrap, nil)
	kvWantCode(t, err, http.StatusForbidden, "Forbidden")
	_, err = oc.WrapKey(c, "mine", "", wrap, nil)
	kvWantCode(t, err, http.StatusForbidden, "Forbidden")
	_, err = kc.NewListKeyPropertiesPager(nil).NextPage(c)
	kvWantCode(t, err, http.StatusForbidden, "Forbidden")
	// Removing the assignment revokes access at once.
	var as []map[string]any
	adminDo(t, ts, "role.list", map[string]any{"principal": "scoped"}, &as)
	adminDo(t, ts, "role.remove", map[string]any{"id": as[0]["id"]}, nil)
	_, err = kc.WrapKey(context.Background(), "mine", "", wrap, nil)
	kvWantCode(t, err, http.StatusForbidden, "Forbidden")
}
