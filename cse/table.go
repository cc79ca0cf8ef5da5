package cse

import (
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
)

// Table entities (spec §9, protocol 1.0 only, as in the legacy SDKs). An
// entity is the JSON object aztables sends and receives: property values
// plus "<name>@odata.type" annotations, Edm.Binary values as base64 strings.

const (
	// EntityMetadataProperty holds the encryption document (Edm.String).
	EntityMetadataProperty = "_ClientEncryptionMetadata1"
	// EntityPropertyListProperty holds the encrypted list of encrypted
	// property names (Edm.Binary).
	EntityPropertyListProperty = "_ClientEncryptionMetadata2"

	odataTypeSuffix = "@odata.type"
	edmBinary       = "Edm.Binary"
	edmString       = "Edm.String"
)

// PropertyResolver chooses the properties to encrypt. Only string
// properties can be encrypted; PartitionKey, RowKey and Timestamp never are.
type PropertyResolver func(partitionKey, rowKey, property string) bool

// EncryptEntity returns a copy of entity with the properties chosen by
// encrypt replaced by Edm.Binary ciphertext and the two reserved properties
// added, in the Python/.NET layout. It uses protocol 1.0, the only one that
// exists for tables (1.0 has no integrity protection).
func (e *Encrypter) EncryptEntity(ctx context.Context, entity map[string]any, encrypt PropertyResolver) (map[string]any, error) {
	pk, rk, err := entityKeys(entity)
	if err != nil {
		return nil, err
	}
	var names []string
	for name, v := range entity {
		if name == EntityMetadataProperty || name == EntityPropertyListProperty {
			return nil, fmt.Errorf("cse: entity already has %s", name)
		}
		if !isUserProperty(name) || encrypt == nil || !encrypt(pk, rk, name) {
			continue
		}
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("cse: property %q is %T; only strings can be encrypted", name, v)
		}
		if t, ok := entity[name+odataTypeSuffix]; ok && t != edmString {
			return nil, fmt.Errorf("cse: property %q is %v; only strings can be encrypted", name, t)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	ck, err := e.newContentKey(ctx, Protocol1_0, 0)
	if err != nil {
		return nil, err
	}
	return encryptEntityWith(ck, entity, pk, rk, names), nil
}

func encryptEntityWith(ck contentKey, entity map[string]any, pk, rk string, names []string) map[string]any {
	defer ck.cek.wipe()
	block := newAESBlock(ck.cek)
	iv := ck.ed.ContentEncryptionIV
	out := maps.Clone(entity)
	for _, name := range names {
		ct := cbcEncrypt(block, propertyIV(iv, pk, rk, name, false), []byte(entity[name].(string)))
		out[name] = base64.StdEncoding.EncodeToString(ct)
		out[name+odataTypeSuffix] = edmBinary
	}
	list := cbcEncrypt(block, propertyIV(iv, pk, rk, EntityPropertyListProperty, false), appendPyStringList(nil, names))
	out[EntityPropertyListProperty] = base64.StdEncoding.EncodeToString(list)
	out[EntityPropertyListProperty+odataTypeSuffix] = edmBinary
	out[EntityMetadataProperty] = ck.ed.String()
	return out
}

// DecryptEntity returns a copy of entity with the encrypted properties
// decrypted to strings and the reserved properties removed. It reads both
// layouts: Python/.NET, and legacy Java v1, chosen as the SDKs do from
// KeyWrappingMetadata.EncryptionLibrary. Listed properties absent from the
// entity (a projection) are skipped.
func (d *Decrypter) DecryptEntity(ctx context.Context, entity map[string]any) (map[string]any, error) {
	m1, ok1 := entity[EntityMetadataProperty]
	m2, ok2 := entity[EntityPropertyListProperty]
	switch {
	case !ok1 && !ok2:
		if d.RequireEncryption {
			return nil, ErrNotEncrypted
		}
		return maps.Clone(entity), nil
	case !ok1 || !ok2:
		return nil, malformed("entity has only one of %s and %s", EntityMetadataProperty, EntityPropertyListProperty)
	}
	doc, ok := m1.(string)
	if !ok {
		return nil, malformed("%s is not a string", EntityMetadataProperty)
	}
	ed, err := ParseEncryptionData([]byte(doc))
	if err != nil {
		return nil, err
	}
	if ed.EncryptionAgent.Protocol != Protocol1_0 {
		return nil, fmt.Errorf("%w: table protocol %q", ErrUnsupported, ed.EncryptionAgent.Protocol)
	}
	pk, rk, err := entityKeys(entity)
	if err != nil {
		return nil, err
	}
	cek, err := unwrapCEK(ctx, d.KEK, d.Resolver, ed)
	if err != nil {
		return nil, err
	}
	defer cek.wipe()
	block, iv, java := newAESBlock(cek), ed.ContentEncryptionIV, ed.javaTableLayout()

	names, err := decryptPropertyList(block, propertyIV(iv, pk, rk, EntityPropertyListProperty, java), m2, java)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(entity)
	for _, name := range names {
		v, ok := out[name]
		if !ok {
			continue
		}
		ct, err := binaryValue(name, v)
		if err != nil {
			return nil, err
		}
		pt, err := cbcDecrypt(block, propertyIV(iv, pk, rk, name, java), ct)
		if err != nil {
			return nil, err
		}
		out[name] = string(pt)
		delete(out, name+odataTypeSuffix)
	}
	for _, k := range []string{EntityMetadataProperty, EntityPropertyListProperty} {
		delete(out, k)
		delete(out, k+odataTypeSuffix)
	}
	return out, nil
}

func decryptPropertyList(block cipher.Block, iv []byte, v any, java bool) ([]string, error) {
	ct, err := binaryValue(EntityPropertyListProperty, v)
	if err != nil {
		return nil, err
	}
	pt, err := cbcDecrypt(block, iv, ct)
	if err != nil {
		return nil, err
	}
	if java { // Java's array text: "[A, B]"
		s, ok1 := strings.CutPrefix(string(pt), "[")
		s, ok2 := strings.CutSuffix(s, "]")
		if !ok1 || !ok2 {
			return nil, ErrDecrypt
		}
		if s == "" {
			return nil, nil
		}
		return strings.Split(s, ", "), nil
	}
	var names []string
	if err := json.Unmarshal(pt, &names); err != nil {
		return nil, ErrDecrypt
	}
	return names, nil
}

// propertyIV is the first 16 bytes of SHA-256(entityIV ‖ RowKey+PartitionKey+name),
// or PartitionKey+RowKey+name in the legacy Java v1 layout (spec §9.2).
func propertyIV(entityIV []byte, pk, rk, name string, java bool) []byte {
	h := sha256.New()
	h.Write(entityIV)
	if java {
		h.Write([]byte(pk + rk + name))
	} else {
		h.Write([]byte(rk + pk + name))
	}
	return h.Sum(nil)[:blockSize]
}

func entityKeys(entity map[string]any) (pk, rk string, err error) {
	pk, ok1 := entity["PartitionKey"].(string)
	rk, ok2 := entity["RowKey"].(string)
	if !ok1 || !ok2 {
		return "", "", fmt.Errorf("cse: entity needs string PartitionKey and RowKey")
	}
	return pk, rk, nil
}

// isUserProperty excludes keys, Timestamp and OData annotations.
func isUserProperty(name string) bool {
	switch name {
	case "PartitionKey", "RowKey", "Timestamp":
		return false
	}
	return !strings.Contains(name, "@") && !strings.HasPrefix(name, "odata.")
}

// binaryValue reads an Edm.Binary value: base64 text (JSON) or bytes.
func binaryValue(name string, v any) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		return v, nil
	case string:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, malformed("property %q is not base64", name)
		}
		return b, nil
	}
	return nil, malformed("property %q is %T, not binary", name, v)
}
