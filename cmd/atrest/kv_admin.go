package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/atrest/atrest/internal/admin"
	"github.com/atrest/atrest/internal/audit"
	"github.com/atrest/atrest/internal/server"
)

// adminRunner runs operator commands: through the running server's admin
// socket when one answers, else by opening the data directory directly.
type adminRunner struct {
	client *admin.Client
	local  *admin.Admin
	close  func() error
}

func openAdmin(c *common) (*adminRunner, error) {
	if cl, err := admin.Dial(c.dataDir); err == nil {
		return &adminRunner{client: cl, close: func() error { return nil }}, nil
	}
	if _, err := os.Stat(c.dataDir); err != nil {
		return nil, fmt.Errorf("data directory %s: %w (start atrest serve first, or pass --data)", c.dataDir, err)
	}
	log, err := c.logger()
	if err != nil {
		return nil, err
	}
	root, err := c.rootKey()
	if err != nil {
		return nil, err
	}
	a, closeFn, err := server.OpenAdmin(c.dataDir, root, server.VaultConfig{}, log)
	if err != nil {
		return nil, fmt.Errorf("no server answers on %s and the data directory cannot be opened: %w", admin.SocketPath(c.dataDir), err)
	}
	return &adminRunner{local: a, close: closeFn}, nil
}

func (r *adminRunner) call(cmd string, args, out any) error {
	ctx := context.Background()
	if r.client != nil {
		return r.client.Call(ctx, cmd, args, out)
	}
	b, err := json.Marshal(args)
	if err != nil {
		return err
	}
	res, err := r.local.Do(ctx, cmd, b)
	if err != nil {
		return err
	}
	rb, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return json.Unmarshal(rb, out)
}

func (r *adminRunner) readAudit(args admin.AuditArgs, w io.Writer) error {
	if r.client != nil {
		return r.client.ReadAudit(context.Background(), args, func(line json.RawMessage) error {
			_, err := fmt.Fprintf(w, "%s\n", line)
			return err
		})
	}
	enc := json.NewEncoder(w)
	return r.local.ReadAudit(args, func(e audit.Event) error { return enc.Encode(e) })
}

// parseArgs parses flags wherever they appear among the positional
// arguments and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) []string {
	var pos []string
	for {
		fs.Parse(args)
		args = fs.Args()
		if len(args) == 0 {
			return pos
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// quietLogs keeps operator commands to their output: only errors are
// logged unless --log-level or ATREST_LOG_LEVEL says otherwise.
func quietLogs(fs *flag.FlagSet) {
	if os.Getenv("ATREST_LOG_LEVEL") == "" {
		fs.Set("log-level", "error")
	}
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// adminCommand runs "atrest GROUP ACTION ..." for the vault, principal,
// role, key, audit, clock and identity groups.
func adminCommand(group string, args []string) error {
	if group == "audit" {
		return auditCommand(args)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(os.Stderr, adminUsage[group])
		if len(args) == 0 {
			return errors.New("missing action")
		}
		return nil
	}
	action, args := args[0], args[1:]
	fs := flag.NewFlagSet(group+" "+action, flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), adminUsage[group]) }
	var c common
	c.register(fs)
	quietLogs(fs)
	build, ok := builders[group+" "+action]
	if !ok {
		fmt.Fprint(os.Stderr, adminUsage[group])
		return fmt.Errorf("unknown command %q", group+" "+action)
	}
	plan := build(fs)
	pos := parseArgs(fs, args)
	cmd, cmdArgs, err := plan(pos)
	if err != nil {
		return err
	}
	r, err := openAdmin(&c)
	if err != nil {
		return err
	}
	defer r.close()
	var out any
	if err := r.call(cmd, cmdArgs, &out); err != nil {
		return err
	}
	if post, ok := postProcess[group+" "+action]; ok {
		return post(out)
	}
	return printJSON(out)
}

// A builder declares a command's flags and returns how to turn the parsed
// flags and positional arguments into an admin command.
type builder func(fs *flag.FlagSet) func(pos []string) (string, any, error)

func need(pos []string, n int, what string) error {
	if len(pos) != n {
		return fmt.Errorf("expected %s", what)
	}
	return nil
}

func auditCommand(args []string) error {
	fs := flag.NewFlagSet("audit", flag.ExitOnError)
	var c common
	c.register(fs)
	quietLogs(fs)
	var a admin.AuditArgs
	fs.StringVar(&a.Since, "since", "", "only events at or after this time (RFC 3339, or a duration back from now such as 1h)")
	fs.StringVar(&a.Until, "until", "", "only events before this time")
	fs.StringVar(&a.Caller, "caller", "", "principal object id or client id (or admin, service)")
	fs.StringVar(&a.Vault, "vault", "", "vault name")
	fs.StringVar(&a.Key, "key", "", "key name")
	fs.StringVar(&a.Operation, "op", "", "operation, e.g. WrapKey")
	fs.StringVar(&a.Result, "result", "", "allowed, denied, failed or unauthenticated")
	fs.StringVar(&a.RequestID, "request", "", "request id")
	fs.IntVar(&a.Limit, "limit", 0, "only the last N matching events")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: atrest audit [flags]\n\nPrints the Key Vault audit log as JSON lines, oldest first, after checking every record's seal and sequence.")
		fs.PrintDefaults()
	}
	if pos := parseArgs(fs, args); len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	r, err := openAdmin(&c)
	if err != nil {
		return err
	}
	defer r.close()
	return r.readAudit(a, os.Stdout)
}
