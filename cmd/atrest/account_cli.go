package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/atrest/atrest/internal/admin"
)

const accountUsage = `usage: atrest account ACTION [flags]   (needs a running atrest serve)

  create NAME [--group RG] [--identity] [--infrastructure-encryption]
              [--key-source Microsoft.Storage|Microsoft.Keyvault]
              [--key-vault-uri URI --key-name NAME [--key-version V]]
  update NAME [--identity] [--user-identity ID] [--key-source S] [--key-vault-uri URI] [--key-name NAME] [--key-version V]
  show NAME
  list
  refresh-key NAME     follow the newest version of a versionless customer-managed key now

URI is https://{vault}.localhost:8443 (a Key Vault) or pkcs11:token={label} (a
PKCS#11 token). A customer-managed key needs a managed identity and, for a Key
Vault key, that identity's "Key Vault Crypto Service Encryption User" role (atrest
role assign): the system-assigned one (--identity), or a user-assigned one
(--user-identity, a name from "atrest user-identity" or its resource id), which
the account's keys are then used as. Output is the account as the management API
returns it (JSON).
`

const userIdentityUsage = `usage: atrest user-identity ACTION [flags]   (needs a running atrest serve)

  create NAME [--group RG]
  show NAME [--group RG]
  list
  delete NAME [--group RG]   accounts using it lose access to their customer-managed keys

A user-assigned managed identity (Microsoft.ManagedIdentity/userAssignedIdentities):
a principal of its own that accounts name with --user-identity. Grant it roles with
atrest role assign --principal {principalId}.
`

const scopeUsage = `usage: atrest scope ACTION ACCOUNT [flags]   (needs a running atrest serve)

  create ACCOUNT SCOPE [--source Microsoft.Storage|Microsoft.KeyVault] [--key-uri URI] [--infrastructure-encryption]
  update ACCOUNT SCOPE [--state Enabled|Disabled] [--source S] [--key-uri URI]
  show ACCOUNT SCOPE
  list ACCOUNT

URI is https://{vault}.localhost:8443/keys/{name}[/{version}] or
pkcs11:token={label}/keys/{name}.
`

// mgmtFlags are the flags of the account and scope commands.
type mgmtFlags struct {
	c                                   common
	group                               string
	identity, infra                     bool
	keySource, vaultURI, keyName, keyVr string
	source, keyURI, state               string
	userIdentity                        string
}

// mgmtCommand runs "atrest account|scope ACTION ..." through the running
// server's management API, as the operator.
func mgmtCommand(group string, args []string) error {
	usage := map[string]string{"account": accountUsage, "scope": scopeUsage, "user-identity": userIdentityUsage}[group]
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(os.Stderr, usage)
		if len(args) == 0 {
			return errors.New("missing action")
		}
		return nil
	}
	action, args := args[0], args[1:]
	fs := flag.NewFlagSet(group+" "+action, flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage) }
	var f mgmtFlags
	f.c.register(fs)
	fs.StringVar(&f.group, "group", "atrest", "resource group of a new account")
	fs.BoolVar(&f.identity, "identity", false, "give the account a system-assigned managed identity")
	fs.StringVar(&f.userIdentity, "user-identity", "", "give the account this user-assigned identity and use its keys as it (name or resource id)")
	fs.BoolVar(&f.infra, "infrastructure-encryption", false, "require infrastructure (double) encryption; fixed at creation")
	fs.StringVar(&f.keySource, "key-source", "", "Microsoft.Storage or Microsoft.Keyvault")
	fs.StringVar(&f.vaultURI, "key-vault-uri", "", "the customer-managed key's vault: https://{vault}.{host}:{port} or pkcs11:token={label}")
	fs.StringVar(&f.keyName, "key-name", "", "the customer-managed key's name (a PKCS#11 key's label)")
	fs.StringVar(&f.keyVr, "key-version", "", "pin a key version (empty follows the newest)")
	fs.StringVar(&f.source, "source", "", "scope key source: Microsoft.Storage or Microsoft.KeyVault")
	fs.StringVar(&f.keyURI, "key-uri", "", "scope key: {vault}/keys/{name}[/{version}]")
	fs.StringVar(&f.state, "state", "", "scope state: Enabled or Disabled")
	quietLogs(fs)
	pos := parseArgs(fs, args)
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	cl, err := admin.Dial(f.c.dataDir)
	if err != nil {
		return fmt.Errorf("%s commands use the management API of a running server: start atrest serve --data %s", group, f.c.dataDir)
	}
	m := &mgmtClient{cl: cl, ctx: context.Background()}
	if err := m.init(); err != nil {
		return err
	}
	var out json.RawMessage
	switch group {
	case "account":
		out, err = m.account(action, pos, &f, set)
	case "scope":
		out, err = m.scope(action, pos, &f, set)
	default:
		out, err = m.userIdentity(action, pos, &f)
	}
	if err != nil {
		return err
	}
	return printJSON(out)
}

// mgmtClient calls the management API for one subscription.
type mgmtClient struct {
	cl  *admin.Client
	ctx context.Context
	sub string
}

func (m *mgmtClient) init() error {
	var info map[string]string
	if err := m.cl.Call(m.ctx, "identity.info", struct{}{}, &info); err != nil {
		return err
	}
	m.sub = info["tenantId"]
	return nil
}

func (m *mgmtClient) call(method, path string, body any) (json.RawMessage, error) {
	return m.cl.Management(m.ctx, method, path, body)
}

// accountPath finds an account's resource path, whatever its group.
func (m *mgmtClient) accountPath(name string) (string, error) {
	raw, err := m.call("GET", "/subscriptions/"+m.sub+"/providers/Microsoft.Storage/storageAccounts", nil)
	if err != nil {
		return "", err
	}
	var list struct {
		Value []struct{ ID, Name string } `json:"value"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", err
	}
	for _, a := range list.Value {
		if a.Name == name {
			return a.ID, nil
		}
	}
	return "", fmt.Errorf("no storage account %q", name)
}

// encryption is the encryption object of the flags that were given.
func (f *mgmtFlags) encryption(set map[string]bool, creating bool) map[string]any {
	enc := map[string]any{}
	if set["key-source"] {
		enc["keySource"] = f.keySource
	}
	if set["key-vault-uri"] || set["key-name"] || set["key-version"] {
		enc["keyvaultproperties"] = map[string]any{"keyvaulturi": f.vaultURI, "keyname": f.keyName, "keyversion": f.keyVr}
		if !set["key-source"] {
			enc["keySource"] = "Microsoft.Keyvault"
		}
	}
	if creating && set["infrastructure-encryption"] {
		enc["requireInfrastructureEncryption"] = f.infra
	}
	return enc
}

func (m *mgmtClient) account(action string, pos []string, f *mgmtFlags, set map[string]bool) (json.RawMessage, error) {
	if action == "list" {
		if err := need(pos, 0, "no arguments"); err != nil {
			return nil, err
		}
		return m.call("GET", "/subscriptions/"+m.sub+"/providers/Microsoft.Storage/storageAccounts", nil)
	}
	if err := need(pos, 1, "one account NAME"); err != nil {
		return nil, err
	}
	name := pos[0]
	body := map[string]any{}
	if f.identity {
		body["identity"] = map[string]any{"type": "SystemAssigned"}
	}
	var uid string
	if f.userIdentity != "" {
		var err error
		if uid, err = m.userIdentityID(f.userIdentity); err != nil {
			return nil, err
		}
		typ := "UserAssigned"
		if f.identity {
			typ = "SystemAssigned,UserAssigned"
		}
		body["identity"] = map[string]any{"type": typ, "userAssignedIdentities": map[string]any{uid: map[string]any{}}}
	}
	withKeyIdentity := func(enc map[string]any) map[string]any {
		if uid != "" {
			enc["identity"] = map[string]any{"userAssignedIdentity": uid}
		}
		return enc
	}
	switch action {
	case "create":
		body["location"] = "local"
		body["kind"] = "StorageV2"
		body["sku"] = map[string]any{"name": "Standard_LRS"}
		if enc := withKeyIdentity(f.encryption(set, true)); len(enc) > 0 {
			body["properties"] = map[string]any{"encryption": enc}
		}
		return m.call("PUT", "/subscriptions/"+m.sub+"/resourceGroups/"+f.group+"/providers/Microsoft.Storage/storageAccounts/"+name, body)
	case "update", "show", "refresh-key":
	default:
		return nil, fmt.Errorf("unknown command %q\n\n%s", "account "+action, strings.TrimSpace(accountUsage))
	}
	path, err := m.accountPath(name)
	if err != nil {
		return nil, err
	}
	switch action {
	case "show":
		return m.call("GET", path, nil)
	case "refresh-key":
		return m.call("POST", path+"/refreshKey", nil)
	}
	if set["infrastructure-encryption"] {
		return nil, errors.New("--infrastructure-encryption is fixed when an account is created")
	}
	if enc := withKeyIdentity(f.encryption(set, false)); len(enc) > 0 {
		body["properties"] = map[string]any{"encryption": enc}
	}
	return m.call("PATCH", path, body)
}

func (m *mgmtClient) scope(action string, pos []string, f *mgmtFlags, set map[string]bool) (json.RawMessage, error) {
	want := map[string]int{"create": 2, "update": 2, "show": 2, "list": 1}
	n, ok := want[action]
	if !ok {
		return nil, fmt.Errorf("unknown command %q\n\n%s", "scope "+action, strings.TrimSpace(scopeUsage))
	}
	if err := need(pos, n, map[int]string{1: "ACCOUNT", 2: "ACCOUNT SCOPE"}[n]); err != nil {
		return nil, err
	}
	path, err := m.accountPath(pos[0])
	if err != nil {
		return nil, err
	}
	path += "/encryptionScopes"
	if action == "list" {
		return m.call("GET", path, nil)
	}
	path += "/" + pos[1]
	if action == "show" {
		return m.call("GET", path, nil)
	}
	props := map[string]any{}
	if set["source"] {
		props["source"] = f.source
	}
	if set["key-uri"] {
		props["keyVaultProperties"] = map[string]any{"keyUri": f.keyURI}
		if !set["source"] {
			props["source"] = "Microsoft.KeyVault"
		}
	}
	if set["state"] {
		props["state"] = f.state
	}
	if action == "create" {
		if set["infrastructure-encryption"] {
			props["requireInfrastructureEncryption"] = f.infra
		}
		return m.call("PUT", path, map[string]any{"properties": props})
	}
	if set["infrastructure-encryption"] {
		return nil, errors.New("--infrastructure-encryption is fixed when a scope is created")
	}
	return m.call("PATCH", path, map[string]any{"properties": props})
}

const userIdentities = "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"

func (m *mgmtClient) userIdentity(action string, pos []string, f *mgmtFlags) (json.RawMessage, error) {
	if action == "list" {
		if err := need(pos, 0, "no arguments"); err != nil {
			return nil, err
		}
		return m.call("GET", "/subscriptions/"+m.sub+userIdentities, nil)
	}
	if err := need(pos, 1, "one identity NAME"); err != nil {
		return nil, err
	}
	path := "/subscriptions/" + m.sub + "/resourceGroups/" + f.group + userIdentities + "/" + pos[0]
	switch action {
	case "create":
		return m.call("PUT", path, map[string]any{"location": "local"})
	case "show":
		return m.call("GET", path, nil)
	case "delete":
		if _, err := m.call("DELETE", path, nil); err != nil {
			return nil, err
		}
		return json.RawMessage(`{}`), nil
	}
	return nil, fmt.Errorf("unknown command %q\n\n%s", "user-identity "+action, strings.TrimSpace(userIdentityUsage))
}

// userIdentityID resolves a user-assigned identity's name (unique in the
// subscription) or resource id to its resource id.
func (m *mgmtClient) userIdentityID(ref string) (string, error) {
	if strings.HasPrefix(ref, "/") {
		return ref, nil
	}
	raw, err := m.call("GET", "/subscriptions/"+m.sub+userIdentities, nil)
	if err != nil {
		return "", err
	}
	var list struct {
		Value []struct{ ID, Name string } `json:"value"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", err
	}
	var found []string
	for _, u := range list.Value {
		if strings.EqualFold(u.Name, ref) {
			found = append(found, u.ID)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no user-assigned identity %q", ref)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%d user-assigned identities are named %q: give the resource id", len(found), ref)
}
