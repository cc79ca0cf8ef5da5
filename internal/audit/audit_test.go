package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/store"
)

func TestLogSealsAndDetectsTampering(t *testing.T) {
	root, _ := secret.Random(32)
	keys, _ := sse.NewKeyring(root, store.NewMemMeta())
	kek, _ := keys.ServiceKEK("audit/test")
	path := filepath.Join(t.TempDir(), "a.log")
	l, err := Open(path, "kv", kek)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := l.Record(Event{Operation: "WrapKey", Key: "secret-key-name", Result: Allowed}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	// Reopening continues the sequence, and a torn last line is dropped.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("4 AAAA")
	f.Close()
	l, _ = Open(path, "kv", kek)
	l.Record(Event{Operation: "UnwrapKey", Result: Denied})
	l.Close()
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("secret-key-name")) || bytes.Contains(raw, []byte("WrapKey")) {
		t.Fatal("audit records are readable on disk")
	}
	var ops []string
	if err := Read(path, "kv", keys, func(e Event) error { ops = append(ops, e.Operation); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ops, ",") != "WrapKey,WrapKey,WrapKey,UnwrapKey" {
		t.Fatalf("read %v", ops)
	}
	lines := strings.SplitAfter(string(raw), "\n")
	lines = lines[:len(lines)-1]
	check := func(name, content, want string) {
		t.Helper()
		os.WriteFile(path, []byte(content), 0o600)
		err := Read(path, "kv", keys, func(Event) error { return nil })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	check("dropped line", lines[0]+lines[2]+lines[3], "sequence jumps")
	check("swapped lines", lines[1]+lines[0]+lines[2]+lines[3], "sequence jumps")
	renumbered := "2" + strings.TrimPrefix(lines[0], "1")
	check("renumbered line", renumbered+lines[2], "record 2")
	b := []byte(lines[1])
	b[len(b)/2] ^= 1
	check("edited line", lines[0]+string(b)+lines[2], "record 2")
	// Records from another log do not open here.
	os.WriteFile(path, []byte(lines[0]), 0o600)
	if err := Read(path, "other", keys, func(Event) error { return nil }); err == nil {
		t.Error("a record opened under another log's name")
	}
}

func TestFilter(t *testing.T) {
	e := Event{Caller: "OID", AppID: "app", Vault: "kv1", Key: "k", Operation: "WrapKey", Result: Denied}
	for f, ok := range map[*Filter]bool{
		{}: true, {Caller: "oid"}: true, {Caller: "APP"}: true, {Vault: "kv2"}: false,
		{Operation: "wrapkey", Result: "denied"}: true, {Result: Allowed}: false,
	} {
		if f.Match(e) != ok {
			t.Errorf("%+v: want %v", *f, ok)
		}
	}
}
