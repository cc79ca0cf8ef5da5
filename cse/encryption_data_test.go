package cse

import (
	"errors"
	"strings"
	"testing"
)

func TestPythonStringEscapes(t *testing.T) {
	// Expected values are Python 3's json.dumps output.
	for in, want := range map[string]string{
		"plain":               `"plain"`,
		"q\"b\\s":             `"q\"b\\s"`,
		"c\x00\x1f\x7f\u0080": `"c\u0000\u001f\u007f\u0080"`,
		"t\tn\nr\rb\bf\f":     `"t\tn\nr\rb\bf\f"`,
		"Grüße":               `"Gr\u00fc\u00dfe"`,
		"東京":                  `"\u6771\u4eac"`,
		"🔑 k":                 `"\ud83d\udd11 k"`,
		"/<&>":                `"/<&>"`,
	} {
		if got := string(appendPyString(nil, in)); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
	if got := string(appendPyStringList(nil, []string{"Name", "City"})); got != `["Name", "City"]` {
		t.Errorf("list: %s", got)
	}
	if got := string(appendPyStringList(nil, nil)); got != `[]` {
		t.Errorf("empty list: %s", got)
	}
}

func TestParseEncryptionDataByName(t *testing.T) {
	// .NET order, compact, different case for one member, unknown members.
	doc := `{"EncryptionMode":"FullBlob","encryptionagent":{"EncryptionAlgorithm":"AES_GCM_256","Protocol":"2.0"},
	"Extra":{"x":1},"EncryptedRegionInfo":{"NonceLength":12,"DataLength":4194304},
	"WrappedContentKey":{"Algorithm":"A256KW","EncryptedKey":"AAAA","KeyId":"k"},
	"KeyWrappingMetadata":{"EncryptionLibrary":".NET 12.0","Other":5}}`
	ed, err := ParseEncryptionData([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if ed.EncryptionAgent.Protocol != "2.0" || ed.EncryptedRegionInfo.DataLength != 4194304 ||
		ed.WrappedContentKey.KeyID != "k" || ed.EncryptionMode != "FullBlob" ||
		len(ed.KeyWrappingMetadata) != 1 || ed.javaTableLayout() {
		t.Fatalf("parsed %+v", ed)
	}
	want := `{"WrappedContentKey": {"KeyId": "k", "EncryptedKey": "AAAA", "Algorithm": "A256KW"}, ` +
		`"EncryptionAgent": {"Protocol": "2.0", "EncryptionAlgorithm": "AES_GCM_256"}, ` +
		`"EncryptedRegionInfo": {"DataLength": 4194304, "NonceLength": 12}, ` +
		`"KeyWrappingMetadata": {"EncryptionLibrary": ".NET 12.0"}, "EncryptionMode": "FullBlob"}`
	if ed.String() != want {
		t.Fatalf("marshal\n got %s\nwant %s", ed, want)
	}
}

func TestParseEncryptionDataRejects(t *testing.T) {
	good := `"WrappedContentKey":{"KeyId":"k","EncryptedKey":"AAAA","Algorithm":"A256KW"},"EncryptionAgent":{"Protocol":"2.0","EncryptionAlgorithm":"AES_GCM_256"}`
	for _, doc := range []string{
		``, `null`, `[]`, `"x"`, `{}`,
		`{"EncryptionAgent":{"Protocol":"2.0","EncryptionAlgorithm":"AES_GCM_256"}}`,
		`{"WrappedContentKey":{"KeyId":"k","EncryptedKey":"!!","Algorithm":"A256KW"},"EncryptionAgent":{"Protocol":"2.0","EncryptionAlgorithm":"AES_GCM_256"}}`,
		`{"WrappedContentKey":{"KeyId":"k","EncryptedKey":"AAAA","Algorithm":null},"EncryptionAgent":{"Protocol":"2.0","EncryptionAlgorithm":"AES_GCM_256"}}`,
		`{` + good + `,"EncryptedRegionInfo":{"DataLength":"4194304","NonceLength":12}}`,
		`{` + good + `,"EncryptedRegionInfo":{"DataLength":1.5,"NonceLength":12}}`,
		`{` + good + `,"ContentEncryptionIV":7}`,
	} {
		if _, err := ParseEncryptionData([]byte(doc)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", doc, err)
		}
	}
}

func TestWriterMetadataNeverSaysJava(t *testing.T) {
	if strings.Contains(EncryptionLibrary, "Java") {
		t.Fatal("EncryptionLibrary must not contain Java")
	}
}
