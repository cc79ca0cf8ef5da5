package csetable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/atrest/atrest/cse"
)

// Options configure a Client.
type Options struct {
	// KEK wraps the content key of every entity written and unwraps
	// entities whose key id it has. Required for writing.
	KEK cse.KeyEncryptionKey
	// Resolver finds the KEK for entities written under other key ids.
	Resolver cse.KeyResolver
	// EncryptProperty chooses the properties to encrypt. Nil encrypts none
	// (entities still get a content key and the reserved properties).
	EncryptProperty cse.PropertyResolver
	// RequireEncryption refuses to read entities without the reserved
	// properties (cse.ErrNotEncrypted).
	RequireEncryption bool
}

// ErrMerge is returned for merge operations, which would mix properties
// encrypted under different content keys.
var ErrMerge = errors.New("csetable: merging encrypted entities is not supported; use replace")

// Client encrypts and decrypts the entities of one table.
type Client struct {
	t       *aztables.Client
	enc     cse.Encrypter
	dec     cse.Decrypter
	encrypt cse.PropertyResolver
}

// NewClient wraps t. The Client is safe for concurrent use.
func NewClient(t *aztables.Client, o Options) (*Client, error) {
	if t == nil {
		return nil, errors.New("csetable: nil table client")
	}
	if o.KEK == nil && o.Resolver == nil {
		return nil, errors.New("csetable: a KEK or a key resolver is required")
	}
	return &Client{
		t:       t,
		enc:     cse.Encrypter{KEK: o.KEK},
		dec:     cse.Decrypter{KEK: o.KEK, Resolver: o.Resolver, RequireEncryption: o.RequireEncryption},
		encrypt: o.EncryptProperty,
	}, nil
}

// TableClient is the plain aztables client; what passes through it is not
// encrypted or decrypted.
func (c *Client) TableClient() *aztables.Client { return c.t }

// AddEntity encrypts entity (JSON) and inserts it.
func (c *Client) AddEntity(ctx context.Context, entity []byte, o *aztables.AddEntityOptions) (aztables.AddEntityResponse, error) {
	enc, err := c.encryptEntity(ctx, entity)
	if err != nil {
		return aztables.AddEntityResponse{}, err
	}
	return c.t.AddEntity(ctx, enc, o)
}

// UpsertEntity encrypts entity and inserts or replaces it. UpdateMode must
// be empty or replace (aztables' own default is merge).
func (c *Client) UpsertEntity(ctx context.Context, entity []byte, o *aztables.UpsertEntityOptions) (aztables.UpsertEntityResponse, error) {
	opts := aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}
	if o != nil {
		if o.UpdateMode == aztables.UpdateModeMerge {
			return aztables.UpsertEntityResponse{}, ErrMerge
		}
		opts.ETag = o.ETag
	}
	enc, err := c.encryptEntity(ctx, entity)
	if err != nil {
		return aztables.UpsertEntityResponse{}, err
	}
	return c.t.UpsertEntity(ctx, enc, &opts)
}

// UpdateEntity encrypts entity and replaces the existing one. UpdateMode
// must be empty or replace.
func (c *Client) UpdateEntity(ctx context.Context, entity []byte, o *aztables.UpdateEntityOptions) (aztables.UpdateEntityResponse, error) {
	opts := aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace}
	if o != nil {
		if o.UpdateMode == aztables.UpdateModeMerge {
			return aztables.UpdateEntityResponse{}, ErrMerge
		}
		opts.IfMatch = o.IfMatch
	}
	enc, err := c.encryptEntity(ctx, entity)
	if err != nil {
		return aztables.UpdateEntityResponse{}, err
	}
	return c.t.UpdateEntity(ctx, enc, &opts)
}

// SubmitTransaction encrypts the entity of every add and replace action and
// submits the batch; deletes go as they are (they need only the keys).
// Merges are refused with ErrMerge before anything is sent, so the batch
// either goes whole or not at all.
func (c *Client) SubmitTransaction(ctx context.Context, actions []aztables.TransactionAction, o *aztables.SubmitTransactionOptions) (aztables.TransactionResponse, error) {
	out := make([]aztables.TransactionAction, len(actions))
	for i, a := range actions {
		out[i] = a
		switch a.ActionType {
		case aztables.TransactionTypeUpdateMerge, aztables.TransactionTypeInsertMerge:
			return aztables.TransactionResponse{}, ErrMerge
		case aztables.TransactionTypeDelete:
			continue
		}
		enc, err := c.encryptEntity(ctx, a.Entity)
		if err != nil {
			return aztables.TransactionResponse{}, err
		}
		out[i].Entity = enc
	}
	return c.t.SubmitTransaction(ctx, out, o)
}

// GetEntity reads one entity and decrypts it; Value is the plaintext JSON.
func (c *Client) GetEntity(ctx context.Context, partitionKey, rowKey string, o *aztables.GetEntityOptions) (aztables.GetEntityResponse, error) {
	resp, err := c.t.GetEntity(ctx, partitionKey, rowKey, o)
	if err != nil {
		return resp, err
	}
	resp.Value, err = c.decryptEntity(ctx, resp.Value)
	return resp, err
}

// ListEntitiesPager pages through a query, decrypting each entity.
type ListEntitiesPager struct {
	c *Client
	p *runtime.Pager[aztables.ListEntitiesResponse]
}

// NewListEntitiesPager runs a query. A Select projection gets the keys and
// the reserved properties added, which decryption needs (the property IVs
// derive from the keys).
func (c *Client) NewListEntitiesPager(o *aztables.ListEntitiesOptions) *ListEntitiesPager {
	if o != nil && o.Select != nil && strings.TrimSpace(*o.Select) != "" {
		oc := *o
		sel := *o.Select + ",PartitionKey,RowKey," + cse.EntityMetadataProperty + "," + cse.EntityPropertyListProperty
		oc.Select = &sel
		o = &oc
	}
	return &ListEntitiesPager{c: c, p: c.t.NewListEntitiesPager(o)}
}

// More reports whether another page remains.
func (p *ListEntitiesPager) More() bool { return p.p.More() }

// NextPage fetches and decrypts the next page. An entity that fails to
// decrypt fails the page.
func (p *ListEntitiesPager) NextPage(ctx context.Context) (aztables.ListEntitiesResponse, error) {
	resp, err := p.p.NextPage(ctx)
	if err != nil {
		return resp, err
	}
	for i, e := range resp.Entities {
		if resp.Entities[i], err = p.c.decryptEntity(ctx, e); err != nil {
			return aztables.ListEntitiesResponse{}, err
		}
	}
	return resp, nil
}

func (c *Client) encryptEntity(ctx context.Context, entity []byte) ([]byte, error) {
	m, err := decodeEntity(entity)
	if err != nil {
		return nil, err
	}
	enc, err := c.enc.EncryptEntity(ctx, m, c.encrypt)
	if err != nil {
		return nil, err
	}
	return json.Marshal(enc)
}

func (c *Client) decryptEntity(ctx context.Context, entity []byte) ([]byte, error) {
	m, err := decodeEntity(entity)
	if err != nil {
		return nil, err
	}
	dec, err := c.dec.DecryptEntity(ctx, m)
	if err != nil {
		return nil, err
	}
	return json.Marshal(dec)
}

// decodeEntity keeps numbers as written, so Int64 and Double values pass
// through unchanged.
func decodeEntity(entity []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(entity))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("csetable: entity is not a JSON object")
	}
	return m, nil
}
