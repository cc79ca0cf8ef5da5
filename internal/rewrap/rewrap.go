// Package rewrap is the job that follows a KEK change: it re-wraps every
// data key of an account (its records, extent registrations and content)
// under the KEK that should hold it now, without decrypting content. It
// runs in batches, saving its position after each, so that a job cut
// short by a crash resumes where it stopped; each batch is idempotent, so
// redoing one after a crash is harmless. Optionally (Options.Reencrypt)
// it re-encrypts content under fresh data keys instead. Nothing becomes unreadable while
// it runs: every object stays readable under the old KEK until its header
// is replaced, and under the new one after.
//
//	st, err := rewrap.Run(ctx, db, target, rewrap.Options{Account: "acct"})
package rewrap

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// State is a job's progress, saved after every batch.
type State struct {
	Account string `json:"account"`
	Phase   string `json:"phase"` // records, extents, done
	// Reencrypt marks a full re-encryption (content under fresh data
	// keys) rather than a rewrap of headers; a resumed job keeps its mode.
	Reencrypt bool            `json:"reencrypt,omitempty"`
	After     []byte          `json:"after,omitempty"`
	AfterID   string          `json:"afterId,omitempty"`
	Stats     sse.RewrapStats `json:"stats"`
	Started   time.Time       `json:"started"`
	Finished  time.Time       `json:"finished,omitzero"`
	Resumed   int             `json:"resumed"`
}

// Options tune a run.
type Options struct {
	Account string
	Batch   int           // objects per batch (default 256)
	Pause   time.Duration // between batches, to bound the job's I/O
	// Progress is told after every batch.
	Progress func(State)
	// Reencrypt starts a full re-encryption instead of a rewrap: every
	// object gets a fresh data key under the current KEK and its content
	// is rewritten, so that old KEK versions and data keys are retired.
	Reencrypt bool
}

// KEKRef seals the jobs' state records.
const KEKRef = "rewrap/state"

func stateKey(acct string) []byte { return []byte("rewrap\x00" + acct) }

// Load returns an account's saved job state (nil when none).
func Load(db *sse.DB, acct string) (*State, error) {
	var st *State
	err := db.View(func(tx *sse.Tx) error {
		b, err := tx.Get(stateKey(acct))
		if errors.Is(err, sse.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		st = &State{}
		return json.Unmarshal(b, st)
	})
	return st, err
}

func save(db *sse.DB, keys *sse.Keyring, st *State) error {
	kek, err := keys.ServiceKEK(KEKRef)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(st)
	return db.Update(func(tx *sse.Tx) error { return tx.Put(stateKey(st.Account), b, kek) })
}

// Run runs (or resumes) an account's job to the end and returns its final
// state, the report.
func Run(ctx context.Context, db *sse.DB, keys *sse.Keyring, target sse.Target, opt Options) (*State, error) {
	if opt.Batch <= 0 {
		opt.Batch = 256
	}
	st, err := Load(db, opt.Account)
	if err != nil {
		return nil, err
	}
	if st == nil || st.Phase == "done" {
		st = &State{Account: opt.Account, Phase: "records", Started: time.Now().UTC(), Reencrypt: opt.Reencrypt}
	} else {
		st.Resumed++
	}
	for st.Phase != "done" {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		var done bool
		switch st.Phase {
		case "records":
			step := db.RewrapRecords
			if st.Reencrypt {
				step = db.ReencryptRecords
			}
			st.After, done, err = step(st.After, opt.Batch, target, &st.Stats)
			if done {
				st.Phase = "extents"
			}
		case "extents":
			step := db.RewrapExtents
			if st.Reencrypt {
				step = db.ReencryptExtents
			}
			st.AfterID, done, err = step(st.AfterID, opt.Batch, target, &st.Stats)
			if done {
				st.Phase, st.Finished = "done", time.Now().UTC()
			}
		}
		if err != nil {
			return st, err
		}
		if err := save(db, keys, st); err != nil {
			return st, err
		}
		if opt.Progress != nil {
			opt.Progress(*st)
		}
		if opt.Pause > 0 && st.Phase != "done" {
			select {
			case <-ctx.Done():
			case <-time.After(opt.Pause):
			}
		}
	}
	return st, nil
}
