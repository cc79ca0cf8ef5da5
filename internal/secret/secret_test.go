package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestKeyNeverPrints(t *testing.T) {
	k := New([]byte("super-secret-bytes"))
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k), k.String()} {
		if strings.Contains(s, "super") || strings.Contains(s, "7375706572") {
			t.Fatalf("key leaked: %q", s)
		}
	}
	j, _ := json.Marshal(struct{ K Key }{k})
	if strings.Contains(string(j), "super") {
		t.Fatalf("key leaked in JSON: %s", j)
	}
}

func TestKeyEqual(t *testing.T) {
	a, b := New([]byte{1, 2, 3}), New([]byte{1, 2, 3})
	if !a.Equal(b) || a.Equal(New([]byte{1, 2, 4})) || a.Equal(New([]byte{1, 2})) {
		t.Fatal("Equal is wrong")
	}
}
