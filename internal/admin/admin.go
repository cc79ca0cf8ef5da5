// Package admin is the operator's interface to an installation: vaults,
// principals, role assignments, keys, the audit log and the clock, as named
// commands with JSON arguments.
//
// The same commands run in-process (Admin.Do, when the CLI opens a stopped
// installation's data directory) or through the running server's admin
// socket, a Unix socket in the data directory that only the directory's
// owner can reach (Serve, Client). Whoever can open the data directory
// already holds the installation, so the socket asks for no other
// credential. Key operations run as keyvault.Admin(): they pass access
// control and are audited with caller "admin".
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/audit"
	"github.com/atrest/atrest/internal/identity"
	"github.com/atrest/atrest/internal/keyvault"
	"github.com/atrest/atrest/internal/rbac"
	"github.com/atrest/atrest/internal/sse"
)

// Admin holds the parts the commands act on.
type Admin struct {
	KV        *keyvault.Service
	Identity  *identity.Service
	RBAC      *rbac.Store
	AuditPath string
	AuditName string
	// Audit records the operator's changes (vaults, principals, roles,
	// clock); key operations are audited by the Key Vault itself.
	Audit    *audit.Log
	Resolver sse.Resolver
	// Endpoints are shown to the operator when known (server running).
	VaultURL, IdentityURL, CAFile string
}

// ErrUsage marks a command error caused by its arguments.
var ErrUsage = errors.New("admin: bad arguments")

type command struct {
	help string
	run  func(a *Admin, ctx context.Context, args json.RawMessage) (any, error)
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"vault.create":                {"create a vault", (*Admin).vaultCreate},
		"vault.list":                  {"list vaults", (*Admin).vaultList},
		"vault.protect":               {"enable purge protection (irreversible)", (*Admin).vaultProtect},
		"vault.delete":                {"delete an empty vault", (*Admin).vaultDelete},
		"principal.create":            {"create a principal and show its secret once", (*Admin).principalCreate},
		"principal.list":              {"list principals", (*Admin).principalList},
		"principal.delete":            {"delete a principal and its role assignments", (*Admin).principalDelete},
		"principal.reset-secret":      {"replace a principal's secret", (*Admin).principalReset},
		"role.definitions":            {"list the built-in roles", (*Admin).roleDefinitions},
		"role.assign":                 {"assign a role at a scope", (*Admin).roleAssign},
		"role.list":                   {"list role assignments", (*Admin).roleList},
		"role.remove":                 {"remove a role assignment", (*Admin).roleRemove},
		"key.op":                      {"run a Key Vault REST operation as the administrator", (*Admin).keyOp},
		"audit.read":                  {"read the audit log", (*Admin).auditRead},
		"clock.show":                  {"show the service clock", (*Admin).clockShow},
		"clock.advance":               {"move the service clock forward", (*Admin).clockAdvance},
		"identity.info":               {"show the tenant and endpoints", (*Admin).identityInfo},
		"identity.rotate-signing-key": {"start signing tokens with a new key", (*Admin).rotateSigning},
		"sweep":                       {"run rotations and purges now", (*Admin).sweep},
	}
}

// changes are the commands that alter the installation's access or time;
// each leaves an audit event.
var changes = map[string]bool{
	"vault.create": true, "vault.protect": true, "vault.delete": true,
	"principal.create": true, "principal.delete": true, "principal.reset-secret": true,
	"role.assign": true, "role.remove": true, "clock.advance": true, "identity.rotate-signing-key": true,
}

// Do runs a command.
func (a *Admin) Do(ctx context.Context, cmd string, args json.RawMessage) (any, error) {
	c, ok := commands[cmd]
	if !ok {
		return nil, fmt.Errorf("%w: unknown command %q", ErrUsage, cmd)
	}
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	out, err := c.run(a, ctx, args)
	if changes[cmd] && a.Audit != nil {
		ev := audit.Event{RequestID: uuid.NewString(), Caller: "admin", Operation: cmd, Result: audit.Allowed, Client: "admin"}
		var target struct{ Name, Vault string }
		json.Unmarshal(args, &target)
		if strings.HasPrefix(cmd, "vault.") {
			ev.Vault = target.Name
		}
		if err != nil {
			ev.Result = audit.Failed
		}
		a.Audit.Record(ev)
	}
	return out, err
}

func parse(args json.RawMessage, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(args)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return nil
}

type vaultArgs struct {
	Name            string `json:"name"`
	RetentionDays   int    `json:"retentionDays"`
	PurgeProtection bool   `json:"purgeProtection"`
}

type vaultView struct {
	keyvault.Vault
	URL string `json:"url"`
}

func (a *Admin) vaultCreate(_ context.Context, args json.RawMessage) (any, error) {
	var v vaultArgs
	if err := parse(args, &v); err != nil {
		return nil, err
	}
	created, err := a.KV.CreateVault(v.Name, v.RetentionDays, v.PurgeProtection)
	if err != nil {
		return nil, err
	}
	return vaultView{created, a.KV.VaultURL(created.Name)}, nil
}

func (a *Admin) vaultList(context.Context, json.RawMessage) (any, error) {
	out := []vaultView{}
	for _, v := range a.KV.Vaults() {
		out = append(out, vaultView{v, a.KV.VaultURL(v.Name)})
	}
	return out, nil
}

func (a *Admin) vaultProtect(_ context.Context, args json.RawMessage) (any, error) {
	var v vaultArgs
	if err := parse(args, &v); err != nil {
		return nil, err
	}
	return a.KV.EnablePurgeProtection(v.Name)
}

func (a *Admin) vaultDelete(_ context.Context, args json.RawMessage) (any, error) {
	var v vaultArgs
	if err := parse(args, &v); err != nil {
		return nil, err
	}
	return map[string]string{"deleted": v.Name}, a.KV.DeleteVault(v.Name)
}

type principalArgs struct {
	Principal string `json:"principal"` // name, object id or client id
	Name      string `json:"name"`
	Managed   bool   `json:"managed"`
}

// Credentials is what a new principal needs to sign in, shown once.
type Credentials struct {
	identity.Principal
	TenantID string `json:"tenantId"`
	Secret   string `json:"secret"`
	// AuthorityHost is what azidentity/azure-identity take as the authority.
	AuthorityHost string `json:"authorityHost,omitempty"`
	// IdentityEndpoint is IDENTITY_ENDPOINT for a managed identity
	// (IDENTITY_HEADER is the secret).
	IdentityEndpoint string `json:"identityEndpoint,omitempty"`
}

func (a *Admin) credentials(p identity.Principal, secret string) Credentials {
	c := Credentials{Principal: p, TenantID: a.Identity.Tenant(), Secret: secret, AuthorityHost: a.IdentityURL}
	if p.Kind == identity.ManagedIdentity && a.IdentityURL != "" {
		c.IdentityEndpoint = a.IdentityURL + "/msi/token"
	}
	return c
}

func (a *Admin) principalCreate(_ context.Context, args json.RawMessage) (any, error) {
	var p principalArgs
	if err := parse(args, &p); err != nil {
		return nil, err
	}
	kind := identity.ServicePrincipal
	if p.Managed {
		kind = identity.ManagedIdentity
	}
	pr, sec, err := a.Identity.CreatePrincipal(p.Name, kind)
	if err != nil {
		return nil, err
	}
	return a.credentials(pr, sec), nil
}

func (a *Admin) principalList(context.Context, json.RawMessage) (any, error) {
	return a.Identity.Principals(), nil
}

func (a *Admin) principalDelete(_ context.Context, args json.RawMessage) (any, error) {
	var p principalArgs
	if err := parse(args, &p); err != nil {
		return nil, err
	}
	pr, err := a.Identity.DeletePrincipal(p.Principal)
	if err != nil {
		return nil, err
	}
	n, err := a.RBAC.RemovePrincipal(pr.ObjectID)
	return map[string]any{"deleted": pr, "roleAssignmentsRemoved": n}, err
}

func (a *Admin) principalReset(_ context.Context, args json.RawMessage) (any, error) {
	var p principalArgs
	if err := parse(args, &p); err != nil {
		return nil, err
	}
	pr, sec, err := a.Identity.ResetSecret(p.Principal)
	if err != nil {
		return nil, err
	}
	return a.credentials(pr, sec), nil
}

func (a *Admin) roleDefinitions(context.Context, json.RawMessage) (any, error) {
	return rbac.Roles, nil
}

type roleArgs struct {
	Principal string `json:"principal"`
	Role      string `json:"role"`
	Scope     string `json:"scope"`
	ID        string `json:"id"`
}

func (a *Admin) roleAssign(_ context.Context, args json.RawMessage) (any, error) {
	var r roleArgs
	if err := parse(args, &r); err != nil {
		return nil, err
	}
	p, err := a.Identity.Lookup(r.Principal)
	if err != nil {
		return nil, err
	}
	scope, err := rbac.ParseScope(r.Scope)
	if err != nil {
		return nil, err
	}
	if parts := strings.Split(scope, "/"); len(parts) > 2 && parts[1] == "vaults" {
		if _, ok := a.KV.Vault(parts[2]); !ok {
			return nil, fmt.Errorf("no vault %q", parts[2])
		}
	}
	return a.RBAC.Assign(p.ObjectID, r.Role, scope)
}

func (a *Admin) roleList(_ context.Context, args json.RawMessage) (any, error) {
	var r roleArgs
	if err := parse(args, &r); err != nil {
		return nil, err
	}
	oid := ""
	if r.Principal != "" {
		p, err := a.Identity.Lookup(r.Principal)
		if err != nil {
			return nil, err
		}
		oid = p.ObjectID
	}
	scope := ""
	if r.Scope != "" {
		var err error
		if scope, err = rbac.ParseScope(r.Scope); err != nil {
			return nil, err
		}
	}
	out := a.RBAC.List(oid, scope)
	if out == nil {
		out = []rbac.Assignment{}
	}
	return out, nil
}

func (a *Admin) roleRemove(_ context.Context, args json.RawMessage) (any, error) {
	var r roleArgs
	if err := parse(args, &r); err != nil {
		return nil, err
	}
	return a.RBAC.Remove(r.ID)
}

// KeyOpArgs run one Key Vault REST operation.
type KeyOpArgs struct {
	Operation string            `json:"operation"` // e.g. CreateKey, RotateKey, BackupKey
	Vault     string            `json:"vault"`
	Name      string            `json:"name"`
	Version   string            `json:"version"`
	Body      json.RawMessage   `json:"body"`
	Query     map[string]string `json:"query"`
}

func (a *Admin) keyOp(ctx context.Context, args json.RawMessage) (any, error) {
	var k KeyOpArgs
	if err := parse(args, &k); err != nil {
		return nil, err
	}
	q := url.Values{}
	for name, v := range k.Query {
		q.Set(name, v)
	}
	return a.KV.Do(ctx, keyvault.Admin(), k.Operation, k.Vault, k.Name, k.Version, k.Body, q)
}

// AuditArgs filter the audit log; times are RFC 3339.
type AuditArgs struct {
	Since     string `json:"since"`
	Until     string `json:"until"`
	Caller    string `json:"caller"`
	Vault     string `json:"vault"`
	Key       string `json:"key"`
	Operation string `json:"operation"`
	Result    string `json:"result"`
	RequestID string `json:"requestId"`
	Limit     int    `json:"limit"` // the last N matches; 0 = all
}

func (a AuditArgs) filter() (audit.Filter, error) {
	f := audit.Filter{Caller: a.Caller, Vault: a.Vault, Key: a.Key, Operation: a.Operation, Result: a.Result, RequestID: a.RequestID}
	var err error
	if a.Since != "" {
		if f.Since, err = parseWhen(a.Since); err != nil {
			return f, err
		}
	}
	if a.Until != "" {
		if f.Until, err = parseWhen(a.Until); err != nil {
			return f, err
		}
	}
	return f, nil
}

// parseWhen takes an RFC 3339 time or a duration back from now ("1h").
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%w: %q is neither an RFC 3339 time nor a duration", ErrUsage, s)
}

// ReadAudit calls fn with each event matching args, oldest first.
func (a *Admin) ReadAudit(args AuditArgs, fn func(audit.Event) error) error {
	f, err := args.filter()
	if err != nil {
		return err
	}
	if args.Limit <= 0 {
		return audit.Read(a.AuditPath, a.AuditName, a.Resolver, func(e audit.Event) error {
			if f.Match(e) {
				return fn(e)
			}
			return nil
		})
	}
	var ring []audit.Event
	err = audit.Read(a.AuditPath, a.AuditName, a.Resolver, func(e audit.Event) error {
		if f.Match(e) {
			ring = append(ring, e)
			if len(ring) > args.Limit {
				ring = ring[1:]
			}
		}
		return nil
	})
	for _, e := range ring {
		if ferr := fn(e); ferr != nil {
			return ferr
		}
	}
	return err
}

func (a *Admin) auditRead(_ context.Context, args json.RawMessage) (any, error) {
	var aa AuditArgs
	if err := parse(args, &aa); err != nil {
		return nil, err
	}
	out := []audit.Event{}
	err := a.ReadAudit(aa, func(e audit.Event) error { out = append(out, e); return nil })
	return out, err
}

type clockView struct {
	Offset  string                `json:"offset"`
	Seconds int64                 `json:"offsetSeconds"`
	Now     time.Time             `json:"now"`
	Sweep   *keyvault.SweepReport `json:"sweep,omitempty"`
}

func (a *Admin) clockView(rep *keyvault.SweepReport) clockView {
	c := a.KV.Clock()
	return clockView{Offset: c.Offset().String(), Seconds: int64(c.Offset() / time.Second), Now: c.Now().Truncate(time.Second), Sweep: rep}
}

func (a *Admin) clockShow(context.Context, json.RawMessage) (any, error) {
	return a.clockView(nil), nil
}

func (a *Admin) clockAdvance(ctx context.Context, args json.RawMessage) (any, error) {
	var c struct {
		By string `json:"by"`
	}
	if err := parse(args, &c); err != nil {
		return nil, err
	}
	d, err := ParseDuration(c.By)
	if err != nil {
		return nil, err
	}
	_, rep, err := a.KV.AdvanceClock(ctx, d)
	if err != nil {
		return nil, err
	}
	return a.clockView(&rep), nil
}

func (a *Admin) identityInfo(context.Context, json.RawMessage) (any, error) {
	info := map[string]string{"tenantId": a.Identity.Tenant(), "vaultUrl": a.VaultURL, "identityUrl": a.IdentityURL, "caFile": a.CAFile}
	if a.IdentityURL != "" {
		info["authority"] = a.IdentityURL + "/" + a.Identity.Tenant()
		info["managedIdentityEndpoint"] = a.IdentityURL + "/msi/token"
	}
	return info, nil
}

func (a *Admin) rotateSigning(context.Context, json.RawMessage) (any, error) {
	kid, err := a.Identity.RotateSigningKey()
	return map[string]string{"kid": kid}, err
}

func (a *Admin) sweep(ctx context.Context, _ json.RawMessage) (any, error) { return a.KV.Sweep(ctx) }

// ParseDuration accepts Go durations ("36h") and whole days ("31d").
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 100*365 {
			return 0, fmt.Errorf("%w: %q is not a number of days", ErrUsage, s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: %q is not a positive duration such as 36h or 31d", ErrUsage, s)
	}
	return d, nil
}
