package edge

import (
	"encoding/xml"
	"io"
	"net/http"
)

// SignedIdentifier is a stored access policy, as the Get and Set ACL
// operations of containers, queues and tables carry it.
type SignedIdentifier struct {
	ID     string `xml:"Id" json:"id"`
	Start  string `xml:"AccessPolicy>Start,omitempty" json:"start,omitempty"`
	Expiry string `xml:"AccessPolicy>Expiry,omitempty" json:"expiry,omitempty"`
	Perm   string `xml:"AccessPolicy>Permission,omitempty" json:"perm,omitempty"`
}

type signedIdentifiers struct {
	XMLName xml.Name           `xml:"SignedIdentifiers"`
	IDs     []SignedIdentifier `xml:"SignedIdentifier"`
}

// maxStoredPolicies is Azure's limit per container, queue or table.
const maxStoredPolicies = 5

// ReadSignedIdentifiers reads a Set ACL body (empty: no policies).
func ReadSignedIdentifiers(body io.Reader) ([]SignedIdentifier, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	var ids signedIdentifiers
	if len(b) > 0 {
		if err := xml.Unmarshal(b, &ids); err != nil {
			return nil, ErrInvalidXML
		}
	}
	if len(ids.IDs) > maxStoredPolicies {
		return nil, ErrInvalidXML.With("At most five stored access policies may be set.")
	}
	for _, id := range ids.IDs {
		if len(id.ID) == 0 || len(id.ID) > 64 {
			return nil, ErrInvalidXML.With("A signed identifier must be 1 to 64 characters long.")
		}
	}
	return ids.IDs, nil
}

// WriteSignedIdentifiers answers a Get ACL.
func WriteSignedIdentifiers(w http.ResponseWriter, ids []SignedIdentifier) error {
	out, err := xml.Marshal(signedIdentifiers{IDs: ids})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	_, err = w.Write(out)
	return err
}

// FindPolicy is the stored access policy named id, or nil.
func FindPolicy(ids []SignedIdentifier, id string) *StoredPolicy {
	for _, p := range ids {
		if p.ID == id {
			return &StoredPolicy{Perm: p.Perm, Start: p.Start, Expiry: p.Expiry}
		}
	}
	return nil
}
