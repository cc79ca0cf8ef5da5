package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/atrest/atrest/internal/admin"
)

var adminUsage = map[string]string{
	"vault": `usage: atrest vault ACTION [flags]

  create NAME [--retention-days 7..90] [--purge-protection]
  list
  protect NAME          enable purge protection (cannot be undone)
  delete NAME           delete an empty vault

A vault is served at https://NAME.localhost:8443 (the vault named "default"
also at https://localhost:8443 and https://127.0.0.1:8443).
`,
	"principal": `usage: atrest principal ACTION [flags]

  create NAME [--managed]    a service principal (client id + secret), or a
                             managed identity (IDENTITY_ENDPOINT + IDENTITY_HEADER)
  list
  delete NAME|ID             also removes its role assignments
  reset-secret NAME|ID       the old secret stops working at once
`,
	"role": `usage: atrest role ACTION [flags]

  definitions
  assign --principal P --role R [--vault V [--key K] | --scope S]
  list [--principal P] [--scope S]
  remove ID

Roles: "Key Vault Administrator", "Key Vault Crypto Officer", "Key Vault Crypto User",
"Key Vault Crypto Service Encryption User", "Key Vault Reader" (or administrator,
crypto-officer, crypto-user, service-encryption-user, reader), and the storage data
roles ("Storage Blob Data Reader", ...). Scopes: /, /vaults/V, /vaults/V/keys/K,
/storageaccounts/A and /storageaccounts/A/containers|queues|tables/N.
`,
	"key": `usage: atrest key ACTION [--vault V] [flags]   (vault defaults to "default")

  create NAME [--kty RSA|RSA-HSM|EC|EC-HSM|oct|oct-HSM] [--size BITS] [--curve P-256|P-384|P-521] [--ops encrypt,decrypt,...]
  list | deleted
  show NAME [--version VER]
  versions NAME
  rotate NAME
  policy NAME [--set FILE.json]    get or set the rotation policy (Key Vault JSON)
  delete NAME | recover NAME | purge NAME
  backup NAME --out FILE           an opaque, encrypted backup
  restore --in FILE
`,
	"clock": `usage: atrest clock ACTION

  show
  advance DURATION    e.g. 31d or 36h; runs due rotations and purges at once
`,
	"identity": `usage: atrest identity ACTION

  info                  tenant id, authority and managed-identity endpoint
  rotate-signing-key    start signing tokens with a new key
`,
}

func keyOp(operation, vault, name, version string, body any) (string, any, error) {
	a := admin.KeyOpArgs{Operation: operation, Vault: vault, Name: name, Version: version}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return "", nil, err
		}
		a.Body = b
	}
	return "key.op", a, nil
}

func vaultFlag(fs *flag.FlagSet) *string {
	return fs.String("vault", "default", "vault name")
}

// nameOnly is the builder of commands taking one NAME and no flags.
func nameOnly(cmd, field string) builder {
	return func(fs *flag.FlagSet) func([]string) (string, any, error) {
		return func(pos []string) (string, any, error) {
			if err := need(pos, 1, "one NAME"); err != nil {
				return "", nil, err
			}
			return cmd, map[string]any{field: pos[0]}, nil
		}
	}
}

func noArgs(cmd string) builder {
	return func(fs *flag.FlagSet) func([]string) (string, any, error) {
		return func(pos []string) (string, any, error) {
			if err := need(pos, 0, "no arguments"); err != nil {
				return "", nil, err
			}
			return cmd, map[string]any{}, nil
		}
	}
}

// keyNamed is the builder of key commands taking a vault and a NAME.
func keyNamed(operation string) builder {
	return func(fs *flag.FlagSet) func([]string) (string, any, error) {
		vault := vaultFlag(fs)
		return func(pos []string) (string, any, error) {
			if err := need(pos, 1, "one key NAME"); err != nil {
				return "", nil, err
			}
			return keyOp(operation, *vault, pos[0], "", nil)
		}
	}
}

var builders = map[string]builder{
	"vault create": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		days := fs.Int("retention-days", 90, "soft-delete retention, 7 to 90 days")
		pp := fs.Bool("purge-protection", false, "refuse purges until retention ends")
		return func(pos []string) (string, any, error) {
			if err := need(pos, 1, "one vault NAME"); err != nil {
				return "", nil, err
			}
			return "vault.create", map[string]any{"name": pos[0], "retentionDays": *days, "purgeProtection": *pp}, nil
		}
	},
	"vault list":    noArgs("vault.list"),
	"vault protect": nameOnly("vault.protect", "name"),
	"vault delete":  nameOnly("vault.delete", "name"),

	"principal create": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		managed := fs.Bool("managed", false, "a managed identity (App Service protocol) instead of a client-secret principal")
		return func(pos []string) (string, any, error) {
			if err := need(pos, 1, "one principal NAME"); err != nil {
				return "", nil, err
			}
			return "principal.create", map[string]any{"name": pos[0], "managed": *managed}, nil
		}
	},
	"principal list":         noArgs("principal.list"),
	"principal delete":       nameOnly("principal.delete", "principal"),
	"principal reset-secret": nameOnly("principal.reset-secret", "principal"),

	"role definitions": noArgs("role.definitions"),
	"role assign": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		p := fs.String("principal", "", "principal name, object id or client id")
		role := fs.String("role", "", "role name, id or short name")
		scope := fs.String("scope", "", "scope: /, /vaults/V, /vaults/V/keys/K or /storageaccounts/A[/containers|queues|tables/N]")
		vault := fs.String("vault", "", "vault (instead of --scope)")
		key := fs.String("key", "", "key in --vault (instead of --scope)")
		return func(pos []string) (string, any, error) {
			if err := need(pos, 0, "flags only"); err != nil {
				return "", nil, err
			}
			sc, err := scopeOf(*scope, *vault, *key)
			if err != nil {
				return "", nil, err
			}
			return "role.assign", map[string]any{"principal": *p, "role": *role, "scope": sc}, nil
		}
	},
	"role list": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		p := fs.String("principal", "", "only this principal's assignments")
		scope := fs.String("scope", "", "only assignments at this scope")
		return func(pos []string) (string, any, error) {
			return "role.list", map[string]any{"principal": *p, "scope": *scope}, need(pos, 0, "flags only")
		}
	},
	"role remove": nameOnly("role.remove", "id"),

	"key create": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		vault := vaultFlag(fs)
		kty := fs.String("kty", "RSA", "RSA, RSA-HSM, EC, EC-HSM, oct or oct-HSM")
		size := fs.Int("size", 0, "key size in bits (RSA 2048/3072/4096, oct 128/192/256)")
		curve := fs.String("curve", "", "EC curve: P-256, P-384 or P-521")
		ops := fs.String("ops", "", "comma-separated key operations (default: all the type allows)")
		return func(pos []string) (string, any, error) {
			if err := need(pos, 1, "one key NAME"); err != nil {
				return "", nil, err
			}
			body := map[string]any{"kty": *kty}
			if *size != 0 {
				body["key_size"] = *size
			}
			if *curve != "" {
				body["crv"] = *curve
			}
			if *ops != "" {
				body["key_ops"] = strings.Split(*ops, ",")
			}
			return keyOp("CreateKey", *vault, pos[0], "", body)
		}
	},
	"key list": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		vault := vaultFlag(fs)
		return func(pos []string) (string, any, error) { return keyOp("GetKeys", *vault, "", "", nil) }
	},
	"key deleted": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		vault := vaultFlag(fs)
		return func(pos []string) (string, any, error) { return keyOp("GetDeletedKeys", *vault, "", "", nil) }
	},
	"key show": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		vault := vaultFlag(fs)
		version := fs.String("version", "", "a version (default: the latest)")
		return func(pos []string) (string, any, error) {
			if err := need(pos, 1, "one key NAME"); err != nil {
				return "", nil, err
			}
			return keyOp("GetKey", *vault, pos[0], *version, nil)
		}
	},
	"key versions": keyNamed("GetKeyVersions"),
	"key rotate":   keyNamed("RotateKey"),
	"key delete":   keyNamed("DeleteKey"),
	"key recover":  keyNamed("RecoverDeletedKey"),
	"key purge":    keyNamed("PurgeDeletedKey"),
	"key policy": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		vault := vaultFlag(fs)
		set := fs.String("set", "", "a JSON rotation policy file to set")
		return func(pos []string) (string, any, error) {
			if err := need(pos, 1, "one key NAME"); err != nil {
				return "", nil, err
			}
			if *set == "" {
				return keyOp("GetKeyRotationPolicy", *vault, pos[0], "", nil)
			}
			b, err := os.ReadFile(*set)
			if err != nil {
				return "", nil, err
			}
			return keyOp("UpdateKeyRotationPolicy", *vault, pos[0], "", json.RawMessage(b))
		}
	},
	"key backup": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		vault := vaultFlag(fs)
		out := fs.String("out", "", "file to write the backup to (required)")
		return func(pos []string) (string, any, error) {
			if err := need(pos, 1, "one key NAME"); err != nil {
				return "", nil, err
			}
			if *out == "" {
				return "", nil, fmt.Errorf("--out is required")
			}
			backupOut = *out
			return keyOp("BackupKey", *vault, pos[0], "", nil)
		}
	},
	"key restore": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		vault := vaultFlag(fs)
		in := fs.String("in", "", "backup file (required)")
		return func(pos []string) (string, any, error) {
			if err := need(pos, 0, "flags only"); err != nil {
				return "", nil, err
			}
			b, err := os.ReadFile(*in)
			if err != nil {
				return "", nil, err
			}
			return keyOp("RestoreKey", *vault, "", "", map[string]string{"value": strings.TrimSpace(string(b))})
		}
	},

	"clock show": noArgs("clock.show"),
	"clock advance": func(fs *flag.FlagSet) func([]string) (string, any, error) {
		return func(pos []string) (string, any, error) {
			if err := need(pos, 1, "one DURATION such as 31d"); err != nil {
				return "", nil, err
			}
			return "clock.advance", map[string]any{"by": pos[0]}, nil
		}
	},
	"identity info":               noArgs("identity.info"),
	"identity rotate-signing-key": noArgs("identity.rotate-signing-key"),
}

// backupOut is where "key backup" writes; set by its builder.
var backupOut string

var postProcess = map[string]func(out any) error{
	"principal create": func(out any) error {
		fmt.Fprintln(os.Stderr, "atrest: the secret is shown only now; it is not stored and cannot be shown again.")
		return printJSON(out)
	},
	"principal reset-secret": func(out any) error {
		fmt.Fprintln(os.Stderr, "atrest: the new secret is shown only now.")
		return printJSON(out)
	},
	"key backup": func(out any) error {
		m, _ := out.(map[string]any)
		v, _ := m["value"].(string)
		if _, err := base64.RawURLEncoding.DecodeString(v); err != nil || v == "" {
			return fmt.Errorf("unexpected backup response")
		}
		if err := os.WriteFile(backupOut, []byte(v+"\n"), 0o600); err != nil {
			return err
		}
		fmt.Printf("backup written to %s (%d bytes, encrypted; restores only into this installation)\n", backupOut, len(v))
		return nil
	},
}

func scopeOf(scope, vault, key string) (string, error) {
	switch {
	case scope != "" && (vault != "" || key != ""):
		return "", fmt.Errorf("give --scope or --vault/--key, not both")
	case scope != "":
		return scope, nil
	case key != "" && vault == "":
		return "", fmt.Errorf("--key needs --vault")
	case key != "":
		return "/vaults/" + vault + "/keys/" + key, nil
	case vault != "":
		return "/vaults/" + vault, nil
	}
	return "", fmt.Errorf("give --scope, or --vault [--key]")
}
