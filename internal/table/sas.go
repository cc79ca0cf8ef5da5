package table

import (
	"strings"

	"github.com/atrest/atrest/internal/edge"
)

// sasLimits is what a SAS confines entity operations to: a service SAS
// to the table it signs (tn) and to a range of keys (spk, srk, epk, erk;
// inclusive, ordered by partition key, then row key within the boundary
// partitions); any SAS to its permissions, which a batch must meet for
// each of its operations.
type sasLimits struct {
	table              string // lower-cased; "" for an account SAS
	spk, srk, epk, erk string
	perm               string
}

// limitsOf is nil for a request that carries no SAS.
func limitsOf(r *edge.Request) *sasLimits {
	s := r.SAS
	if s == nil {
		return nil
	}
	l := &sasLimits{perm: s.Permissions()}
	if !s.IsAccount() {
		l.table = strings.ToLower(s.TableName)
		l.spk, l.srk, l.epk, l.erk = s.TableFields[0], s.TableFields[1], s.TableFields[2], s.TableFields[3]
	}
	return l
}

// inRange reports whether an entity's keys are within the SAS's range.
func (l *sasLimits) inRange(pk, rk string) bool {
	if l == nil {
		return true
	}
	if l.spk != "" && (pk < l.spk || pk == l.spk && rk < l.srk) {
		return false
	}
	if l.epk != "" && (pk > l.epk || pk == l.epk && l.erk != "" && rk > l.erk) {
		return false
	}
	return true
}

// allows checks a write against the SAS: its table, its permissions (an
// upsert needs both add and update, as in Azure) and its key range.
func (l *sasLimits) allows(o *op) error {
	if l == nil {
		return nil
	}
	if l.table != "" && l.table != o.table {
		return edge.ErrAuthorizationFailure
	}
	need := map[opKind]string{opInsert: "a", opReplace: "u", opMerge: "u", opDelete: "d"}[o.kind]
	if (o.kind == opReplace || o.kind == opMerge) && o.ifMatch == "" {
		need = "au"
	}
	for _, c := range need {
		if !strings.ContainsRune(l.perm, c) {
			return edge.ErrSASPermission
		}
	}
	if !l.inRange(o.ent.PartitionKey, o.ent.RowKey) {
		return edge.ErrAuthorizationFailure
	}
	return nil
}
