// Package svcprops keeps a storage service's properties document, the body
// of Get and Set Service Properties (logging, metrics, CORS, and for the
// Blob service delete retention and the static website), sealed in the
// store like any record. Each service gives its own key, KEK and default:
//
//	p := svcprops.Store{DB: db, Key: ..., KEK: ..., Default: svcprops.QueueDefault}
//	{Name: "GetQueueServiceProperties", ..., Handle: p.Get}
package svcprops

import (
	"encoding/xml"
	"io"
	"net/http"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

const (
	logging = `<Logging><Version>1.0</Version><Read>false</Read><Write>false</Write><Delete>false</Delete><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging>`
	metrics = `<HourMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics><MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></MinuteMetrics><Cors />`

	// BlobDefault is a new account's Blob service document.
	BlobDefault = xml.Header + `<StorageServiceProperties>` + logging + metrics + `<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy><StaticWebsite><Enabled>false</Enabled></StaticWebsite></StorageServiceProperties>`
	// QueueDefault and TableDefault are the Queue and Table services'.
	QueueDefault = xml.Header + `<StorageServiceProperties>` + logging + metrics + `</StorageServiceProperties>`
	TableDefault = QueueDefault
)

// Store is one service's documents, one per account.
type Store struct {
	DB      *sse.DB
	Key     func(acct string) []byte
	KEK     func(acct string) (sse.KEK, error)
	Default string
	// MapErr turns a store error into the service's answer.
	MapErr func(error) error
}

// Get answers the account's document, or the default.
func (s Store) Get(w http.ResponseWriter, r *edge.Request) error {
	var body []byte
	err := s.DB.View(func(tx *sse.Tx) error {
		b, err := tx.Get(s.Key(r.Account.Name))
		body = b
		if err == sse.ErrNotFound {
			body = []byte(s.Default)
			return nil
		}
		return err
	})
	if err != nil {
		return s.MapErr(err)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// Set merges the sections the client sent over the stored document, as
// Azure does: omitted sections keep their values. It answers 202.
func (s Store) Set(w http.ResponseWriter, r *edge.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var sent props
	if err := xml.Unmarshal(body, &sent); err != nil {
		return edge.ErrInvalidXML
	}
	kek, err := s.KEK(r.Account.Name)
	if err != nil {
		return err
	}
	err = s.DB.Update(func(tx *sse.Tx) error {
		b, err := tx.Get(s.Key(r.Account.Name))
		if err == sse.ErrNotFound {
			b = []byte(s.Default)
		} else if err != nil {
			return err
		}
		var cur props
		if err := xml.Unmarshal(b, &cur); err != nil {
			return err
		}
		cur.merge(&sent)
		out, err := xml.Marshal(cur)
		if err != nil {
			return err
		}
		return tx.Put(s.Key(r.Account.Name), append([]byte(xml.Header), out...), kek)
	})
	if err != nil {
		return s.MapErr(err)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// props keeps each section as raw XML so that content it does not know
// survives.
type props struct {
	XMLName       xml.Name `xml:"StorageServiceProperties"`
	Logging       *rawXML  `xml:"Logging"`
	HourMetrics   *rawXML  `xml:"HourMetrics"`
	MinuteMetrics *rawXML  `xml:"MinuteMetrics"`
	Cors          *rawXML  `xml:"Cors"`
	DefaultVer    *string  `xml:"DefaultServiceVersion"`
	DeleteRetain  *rawXML  `xml:"DeleteRetentionPolicy"`
	StaticWebsite *rawXML  `xml:"StaticWebsite"`
}

type rawXML struct {
	Inner []byte `xml:",innerxml"`
}

func (p *props) merge(o *props) {
	if o.Logging != nil {
		p.Logging = o.Logging
	}
	if o.HourMetrics != nil {
		p.HourMetrics = o.HourMetrics
	}
	if o.MinuteMetrics != nil {
		p.MinuteMetrics = o.MinuteMetrics
	}
	if o.Cors != nil {
		p.Cors = o.Cors
	}
	if o.DefaultVer != nil {
		p.DefaultVer = o.DefaultVer
	}
	if o.DeleteRetain != nil {
		p.DeleteRetain = o.DeleteRetain
	}
	if o.StaticWebsite != nil {
		p.StaticWebsite = o.StaticWebsite
	}
}

// CORS is the account's CORS rules, in order.
func (s Store) CORS(acct string) ([]edge.CORSRule, error) {
	var doc struct {
		Rules []edge.CORSRule `xml:"Cors>CorsRule"`
	}
	err := s.DB.View(func(tx *sse.Tx) error {
		b, err := tx.Get(s.Key(acct))
		if err == sse.ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		return xml.Unmarshal(b, &doc)
	})
	if err != nil {
		return nil, s.MapErr(err)
	}
	return doc.Rules, nil
}
