package csekv

import "testing"

// FuzzParseKeyID: no input panics, and whatever parses names an https vault
// and parses again to the same parts from its canonical form.
func FuzzParseKeyID(f *testing.F) {
	for _, s := range []string{"https://kv.vault.azure.net/keys/k1/abc", "https://kv.localhost:8443/keys/k1", "local:aes", "https://h/keys/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		vault, name, version, ok := ParseKeyID(id)
		if !ok {
			return
		}
		canon := vault + "/keys/" + name
		if version != "" {
			canon += "/" + version
		}
		v2, n2, ver2, ok2 := ParseKeyID(canon)
		if !ok2 || v2 != vault || n2 != name || ver2 != version {
			t.Fatalf("%q parsed to %q %q %q, whose form %q parses to %q %q %q %v", id, vault, name, version, canon, v2, n2, ver2, ok2)
		}
	})
}
