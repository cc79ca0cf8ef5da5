package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAzStorageQueueTable drives the Queue and Table services with
// az storage queue|message|table|entity.
func TestAzStorageQueueTable(t *testing.T) {
	azPath := azCLI(t)
	ts := startServer(t)
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + ts.conn, "AZURE_CORE_COLLECT_TELEMETRY=false",
		"AZURE_CONFIG_DIR=" + filepath.Join(t.TempDir(), "azcfg"), "AZURE_CORE_NO_COLOR=true", "AZURE_CORE_ONLY_SHOW_ERRORS=true"}
	az := func(v any, args ...string) {
		t.Helper()
		out := runClient(t, time.Minute, env, azPath, append([]string{"storage"}, args...)...)
		if v != nil {
			if err := json.Unmarshal([]byte(out), v); err != nil {
				t.Fatalf("az %v: not JSON: %v\n%s", args, err, out)
			}
		}
	}
	canary := "AZQTCANARY-6f2a90"

	// queues and messages
	az(nil, "queue", "create", "-n", "azq", "--metadata", "team=blue")
	var exists struct{ Exists bool }
	az(&exists, "queue", "exists", "-n", "azq")
	var queues []struct{ Name string }
	az(&queues, "queue", "list", "--prefix", "az")
	if !exists.Exists || len(queues) != 1 || queues[0].Name != "azq" {
		t.Fatalf("queue exists %v, list %+v", exists.Exists, queues)
	}
	az(nil, "queue", "metadata", "update", "-n", "azq", "--metadata", "team=red")
	var meta map[string]string
	az(&meta, "queue", "metadata", "show", "-n", "azq")
	if meta["team"] != "red" {
		t.Fatalf("queue metadata %v", meta)
	}
	type message struct {
		ID           string
		Content      string
		PopReceipt   string
		DequeueCount *int
	}
	var put message
	az(&put, "message", "put", "-q", "azq", "--content", "az says "+canary)
	var peeked []message
	az(&peeked, "message", "peek", "-q", "azq", "--num-messages", "5")
	if len(peeked) != 1 || peeked[0].Content != "az says "+canary || *peeked[0].DequeueCount != 0 {
		t.Fatalf("peek %+v", peeked)
	}
	var got []message
	az(&got, "message", "get", "-q", "azq", "--visibility-timeout", "60")
	if len(got) != 1 || got[0].ID != put.ID || *got[0].DequeueCount != 1 {
		t.Fatalf("get %+v", got)
	}
	var upd message
	az(&upd, "message", "update", "-q", "azq", "--id", got[0].ID, "--pop-receipt", got[0].PopReceipt, "--content", "changed", "--visibility-timeout", "0")
	az(&peeked, "message", "peek", "-q", "azq")
	if len(peeked) != 1 || peeked[0].Content != "changed" {
		t.Fatalf("after update %+v", peeked)
	}
	az(nil, "message", "delete", "-q", "azq", "--id", got[0].ID, "--pop-receipt", upd.PopReceipt)
	az(nil, "message", "put", "-q", "azq", "--content", "kept "+canary)
	az(nil, "message", "put", "-q", "azq", "--content", "cleared")
	az(nil, "message", "clear", "-q", "azq")
	az(&peeked, "message", "peek", "-q", "azq")
	if len(peeked) != 0 {
		t.Fatalf("after clear %+v", peeked)
	}

	// tables and entities
	az(nil, "table", "create", "-n", "AzTable")
	az(&exists, "table", "exists", "-n", "AzTable")
	if !exists.Exists {
		t.Fatal("table exists is false")
	}
	az(nil, "entity", "insert", "-t", "AzTable", "-e", "PartitionKey=p", "RowKey=r1", "age=42", "age@odata.type=Edm.Int32", "secret="+canary)
	az(nil, "entity", "insert", "-t", "AzTable", "-e", "PartitionKey=p", "RowKey=r2", "age=7", "age@odata.type=Edm.Int32")
	az(nil, "entity", "merge", "-t", "AzTable", "-e", "PartitionKey=p", "RowKey=r1", "city=paris")
	var ent map[string]any
	az(&ent, "entity", "show", "-t", "AzTable", "--partition-key", "p", "--row-key", "r1")
	if ent["age"] != 42.0 || ent["city"] != "paris" || ent["secret"] != canary {
		t.Fatalf("entity show %v", ent)
	}
	var q struct{ Items []map[string]any }
	az(&q, "entity", "query", "-t", "AzTable", "--filter", "age gt 10 and PartitionKey eq 'p'")
	if len(q.Items) != 1 || q.Items[0]["RowKey"] != "r1" {
		t.Fatalf("entity query %+v", q)
	}
	az(nil, "entity", "delete", "-t", "AzTable", "--partition-key", "p", "--row-key", "r2")
	az(&q, "entity", "query", "-t", "AzTable")
	var tables []struct{ Name string }
	az(&tables, "table", "list")
	if len(q.Items) != 1 || len(tables) != 1 || tables[0].Name != "AzTable" {
		t.Fatalf("entities %+v, tables %+v", q.Items, tables)
	}
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary, "paris"}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
	if strings.Contains(ts.logText(), canary) {
		t.Fatal("a canary reached the log")
	}
}
