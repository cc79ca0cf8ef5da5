// Package audit keeps the Key Vault's audit trail: one record for every key
// operation, allowed, denied or failed, sealed like every other stored byte
// and read back as JSON lines.
//
//	l, _ := audit.Open(path, "keyvault", kek)
//	l.Record(audit.Event{Operation: "WrapKey", Result: audit.Allowed, ...})
//	audit.Read(path, "keyvault", resolver, func(e audit.Event) error { ... })
//
// On disk each record is one line, "<seq> <base64 of an sse-sealed JSON
// event>", whose sealing binds it to the log's name and its sequence number:
// an edited, swapped or replayed line fails to open and a removed one leaves
// a gap that Read reports. Events never carry key material or plaintext.
package audit

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// Results an Event can record.
const (
	Allowed         = "allowed"         // authorized and carried out
	Denied          = "denied"          // refused by access control (403)
	Failed          = "failed"          // authorized but failed (bad input, missing key, policy)
	Unauthenticated = "unauthenticated" // no valid token (401)
)

// Event is one audited operation.
type Event struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"requestId"`
	Caller    string    `json:"caller"` // principal object id; empty when unauthenticated
	AppID     string    `json:"appId,omitempty"`
	Vault     string    `json:"vault,omitempty"`
	Key       string    `json:"key,omitempty"`
	Version   string    `json:"version,omitempty"`
	Resource  string    `json:"resource,omitempty"` // storage: account/container/object
	Operation string    `json:"operation"`
	Algorithm string    `json:"algorithm,omitempty"`
	Result    string    `json:"result"`
	Status    int       `json:"status,omitempty"`
	Code      string    `json:"code,omitempty"`
	Client    string    `json:"client,omitempty"` // remote address, or "admin" / "service"
}

// Log appends sealed events to a file. It is safe for concurrent use.
type Log struct {
	name string
	kek  sse.KEK

	mu    sync.Mutex
	f     *os.File
	seq   uint64
	dirty bool
	buf   bytes.Buffer

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// syncEvery bounds how long a recorded event may sit in the page cache
// before it is forced to disk.
const syncEvery = time.Second

// Open opens (or creates) the log at path. name binds records to this log,
// so records moved between logs fail to open.
func Open(path, name string, kek sse.KEK) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	seq, end, err := lastSeq(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	// A crash mid-append leaves a partial line; drop it so the next record
	// starts on its own line.
	if err := f.Truncate(end); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	l := &Log{name: name, kek: kek, f: f, seq: seq, stop: make(chan struct{}), done: make(chan struct{})}
	go l.syncLoop()
	return l, nil
}

// lastSeq finds the sequence number of the last complete line and where it ends.
func lastSeq(f *os.File) (uint64, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size := st.Size()
	if size == 0 {
		return 0, 0, nil
	}
	const tail = 64 << 10
	off := max(size-tail, 0)
	b := make([]byte, size-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, err
	}
	nl := bytes.LastIndexByte(b, '\n')
	if nl < 0 {
		if off == 0 {
			return 0, 0, nil
		}
		return 0, 0, fmt.Errorf("audit: %s: last line longer than %d bytes", f.Name(), tail)
	}
	end := off + int64(nl) + 1
	body := b[:nl]
	start := bytes.LastIndexByte(body, '\n') + 1
	seqText, _, _ := bytes.Cut(body[start:], []byte(" "))
	seq, err := strconv.ParseUint(string(seqText), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("audit: %s: last line has no sequence number", f.Name())
	}
	return seq, end, nil
}

func binding(name string, seq uint64) sse.Binding {
	return sse.Binding{Kind: "audit", Object: name, Version: strconv.FormatUint(seq, 10)}
}

// Record seals e and appends it. The write reaches the operating system
// before Record returns; it reaches the disk within syncEvery.
func (l *Log) Record(e Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	plain, err := json.Marshal(e)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit: log is closed")
	}
	seq := l.seq + 1
	sealed, err := sse.Seal(l.kek, binding(l.name, seq), plain)
	if err != nil {
		return err
	}
	l.buf.Reset()
	l.buf.WriteString(strconv.FormatUint(seq, 10))
	l.buf.WriteByte(' ')
	enc := base64.NewEncoder(base64.StdEncoding, &l.buf)
	enc.Write(sealed)
	enc.Close()
	l.buf.WriteByte('\n')
	if _, err := l.f.Write(l.buf.Bytes()); err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	l.seq = seq
	l.dirty = true
	return nil
}

func (l *Log) syncLoop() {
	defer close(l.done)
	t := time.NewTicker(syncEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.Sync()
		}
	}
}

// Sync forces recorded events to disk.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil || !l.dirty {
		return nil
	}
	l.dirty = false
	return l.f.Sync()
}

// Close syncs and closes the log.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		err := l.Sync()
		l.mu.Lock()
		defer l.mu.Unlock()
		if cerr := l.f.Close(); err == nil {
			err = cerr
		}
		l.f = nil
		l.closeErr = err
	})
	return l.closeErr
}

// Read opens every record of the log at path, in order, and calls fn with
// each. Records that fail to open and gaps in the sequence do not stop the
// reading; they are reported together in the returned error.
func Read(path, name string, res sse.Resolver, fn func(Event) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var problems []error
	var prev uint64
	for line := 1; sc.Scan(); line++ {
		seqText, b64, ok := bytes.Cut(sc.Bytes(), []byte(" "))
		seq, err := strconv.ParseUint(string(seqText), 10, 64)
		if !ok || err != nil {
			problems = append(problems, fmt.Errorf("line %d: malformed", line))
			continue
		}
		if seq != prev+1 {
			problems = append(problems, fmt.Errorf("line %d: sequence jumps from %d to %d (records missing or reordered)", line, prev, seq))
		}
		prev = seq
		sealed, err := base64.StdEncoding.DecodeString(string(b64))
		if err != nil {
			problems = append(problems, fmt.Errorf("record %d: not base64", seq))
			continue
		}
		plain, _, err := sse.Open(res, binding(name, seq), sealed)
		if err != nil {
			problems = append(problems, fmt.Errorf("record %d: %w", seq, err))
			continue
		}
		var e Event
		if err := json.Unmarshal(plain, &e); err != nil {
			problems = append(problems, fmt.Errorf("record %d: %v", seq, err))
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("audit: %s does not verify: %w", path, errors.Join(problems...))
	}
	return nil
}
