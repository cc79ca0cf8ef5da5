package table

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/odata"
)

// metadataLevel is the JSON flavour a client asked for.
type metadataLevel int

const (
	noMetadata metadataLevel = iota
	minimalMetadata
	fullMetadata
)

var levelNames = [...]string{"nometadata", "minimalmetadata", "fullmetadata"}

// responseLevel reads $format, else Accept. JSON without a level is
// minimal metadata; Atom (and only Atom) is refused, as Azure now does.
func responseLevel(r *edge.Request) (metadataLevel, error) {
	spec := r.URL.Query().Get("$format")
	if spec == "" {
		spec = r.Header.Get("Accept")
	}
	switch {
	case strings.Contains(spec, "odata=nometadata"):
		return noMetadata, nil
	case strings.Contains(spec, "odata=fullmetadata"):
		return fullMetadata, nil
	case strings.Contains(spec, "atom") && !strings.Contains(spec, "json"):
		return 0, errAtomNotSupported
	}
	return minimalMetadata, nil
}

func (l metadataLevel) contentType() string {
	return "application/json;odata=" + levelNames[l] + ";streaming=true;charset=utf-8"
}

// accountURL is the account's Table endpoint as the client reached it.
func accountURL(r *edge.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/" + r.Account.Name + "/"
}

func writeJSON(w http.ResponseWriter, status int, lvl metadataLevel, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", lvl.contentType())
	h.Set("DataServiceVersion", "3.0;")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// entityPath is how Azure names an entity in URLs: table(PartitionKey='…',RowKey='…').
func entityPath(table, pk, rk string) string {
	q := func(s string) string { return url.PathEscape(strings.ReplaceAll(s, "'", "''")) }
	return table + "(PartitionKey='" + q(pk) + "',RowKey='" + q(rk) + "')"
}

// entityJSON renders one entity. element adds odata.metadata, for
// responses that hold a single entity; sel, when non-nil, lists the
// properties to return ($select); those the entity lacks are left out.
type entityJSON struct {
	lvl     metadataLevel
	account string // account URL, for odata.id and odata.metadata
	acct    string // account name, for odata.type
	table   string
	sel     []string
}

func (j *entityJSON) append(b []byte, e *Entity, element bool) []byte {
	b = append(b, '{')
	field := func(name string) {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
	}
	if element && j.lvl != noMetadata {
		field("odata.metadata")
		b = appendString(b, j.account+"$metadata#"+j.table+"/@Element")
	}
	path := entityPath(j.table, e.PartitionKey, e.RowKey)
	if j.lvl == fullMetadata {
		field("odata.type")
		b = appendString(b, j.acct+"."+j.table)
		field("odata.id")
		b = appendString(b, j.account+path)
	}
	if j.lvl != noMetadata {
		field("odata.etag")
		b = appendString(b, etag(e.Timestamp))
	}
	if j.lvl == fullMetadata {
		field("odata.editLink")
		b = appendString(b, path)
	}
	prop := func(name string, v odata.Value) {
		if ann := annotation(v, j.lvl, name == "Timestamp"); ann != "" {
			field(name + "@odata.type")
			b = appendString(b, ann)
		}
		field(name)
		b = appendValue(b, v)
	}
	if j.sel == nil {
		prop("PartitionKey", odata.StringValue(e.PartitionKey))
		prop("RowKey", odata.StringValue(e.RowKey))
		prop("Timestamp", odata.Value{Type: odata.DateTime, Int: e.Timestamp})
		for _, p := range e.Props {
			prop(p.Name, p.Value)
		}
		return append(b, '}')
	}
	for _, name := range j.sel {
		if v, ok := e.Property(name); ok {
			prop(name, v)
		}
	}
	return append(b, '}')
}

// annotation is the odata.type a value needs at this level: the types JSON
// cannot carry (Int64, DateTime, Guid, Binary, and Doubles written as
// strings), and with full metadata the Timestamp too.
func annotation(v odata.Value, lvl metadataLevel, timestamp bool) string {
	if lvl == noMetadata || timestamp && lvl != fullMetadata {
		return ""
	}
	switch v.Type {
	case odata.Int64, odata.DateTime, odata.Guid, odata.Binary:
		return v.Type.String()
	case odata.Double:
		if s := odata.FormatDouble(v.Num); s == "NaN" || strings.HasSuffix(s, "Infinity") {
			return v.Type.String()
		}
	}
	return ""
}

func appendValue(b []byte, v odata.Value) []byte {
	switch v.Type {
	case odata.String, odata.Guid:
		return appendString(b, v.Str)
	case odata.Boolean:
		return strconv.AppendBool(b, v.Int == 1)
	case odata.Int32:
		return strconv.AppendInt(b, v.Int, 10)
	case odata.Int64:
		b = append(b, '"')
		b = strconv.AppendInt(b, v.Int, 10)
		return append(b, '"')
	case odata.Double:
		s := odata.FormatDouble(v.Num)
		if s == "NaN" || strings.HasSuffix(s, "Infinity") {
			return appendString(b, s)
		}
		return append(b, s...)
	case odata.DateTime:
		return appendString(b, odata.FormatDateTime(v.Int))
	case odata.Binary:
		return appendString(b, odata.Base64(v.Str))
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string (without HTML escaping).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20:
				b = append(b, c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
