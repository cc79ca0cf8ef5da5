package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/atrest/atrest/internal/admin"
	"github.com/atrest/atrest/internal/rewrap"
)

// rewrapCommand runs (or resumes) an account's rewrap job on a stopped
// installation and prints its progress and final report. A running server
// runs the same job by itself after every key change.
func rewrapCommand(args []string) error {
	fs := flag.NewFlagSet("rewrap", flag.ExitOnError)
	var c common
	c.register(fs)
	kf := registerKeyFlags(fs)
	batch := fs.Int("batch", 256, "objects per batch (progress is saved after each)")
	pause := fs.Duration("pause", 0, "pause between batches, to bound the job's I/O")
	reencrypt := fs.Bool("reencrypt", false, "re-encrypt content under fresh data keys (retires old KEK versions), instead of re-wrapping data keys")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: atrest rewrap [flags] ACCOUNT\n\nRe-wraps every data key of ACCOUNT under its current KEK; resumes a job cut short.")
		fs.PrintDefaults()
	}
	quietLogs(fs)
	pos := parseArgs(fs, args)
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("rewrap: name one account")
	}
	if _, err := admin.Dial(c.dataDir); err == nil {
		return fmt.Errorf("a server is running on %s: it re-wraps by itself after key changes; stop it to run the job here", c.dataDir)
	}
	st, reg, closeFn, err := openInstallation(&c, kf)
	if err != nil {
		return err
	}
	defer closeFn()
	if _, err := reg.Get(pos[0]); err != nil {
		return err
	}
	target, err := reg.RewrapTarget(pos[0])
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if prev, _ := rewrap.Load(st.DB, pos[0]); prev != nil && prev.Phase != "done" {
		fmt.Printf("resuming the job started %s (phase %s, examined %d, reencrypt %v)\n", prev.Started.Format(time.RFC3339), prev.Phase, prev.Stats.Examined, prev.Reencrypt)
	}
	rep, err := rewrap.Run(ctx, st.DB, st.Keys, target, rewrap.Options{Account: pos[0], Batch: *batch, Pause: *pause, Reencrypt: *reencrypt,
		Progress: func(s rewrap.State) {
			fmt.Printf("progress: phase %s, examined %d, rewrapped %d, re-encrypted %d\n", s.Phase, s.Stats.Examined, s.Stats.Rewrapped, s.Stats.Reencrypted)
		}})
	if err != nil {
		return err
	}
	s := rep.Stats
	fmt.Printf("rewrap of %s done: examined %d, rewrapped %d, re-encrypted %d, already current %d, other keys %d, key unavailable %d, bytes copied %d, resumed %d time(s)\n",
		rep.Account, s.Examined, s.Rewrapped, s.Reencrypted, s.Current, s.Skipped, s.Unavailable, s.BytesCopied, rep.Resumed)
	if s.Unavailable > 0 {
		return fmt.Errorf("rewrap: %d object(s) could not be re-wrapped: their key is unavailable (run again once it is back)", s.Unavailable)
	}
	return nil
}
