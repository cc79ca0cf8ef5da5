package table

import (
	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/rbac"
)

const actPrefix = "Microsoft.Storage/storageAccounts/tableServices/tables/"

var actions = map[string]string{
	"QueryTables": actPrefix + "read", "GetTable": actPrefix + "read", "CreateTable": actPrefix + "write",
	"DeleteTable": actPrefix + "delete", "QueryEntities": actPrefix + "entities/read", "GetEntity": actPrefix + "entities/read",
	"InsertEntity": actPrefix + "entities/add/action", "UpdateEntity": actPrefix + "entities/update/action",
	"MergeEntity": actPrefix + "entities/update/action", "DeleteEntity": actPrefix + "entities/delete",
	"EntityGroupTransaction": actPrefix + "entities/write",
}

// Action is the RBAC action and scope a Table request needs: a table's own
// scope for its entities and for Get/Delete Table, the account's otherwise.
func (s *Service) Action(r *edge.Request) (string, string) {
	scope := rbac.StorageScope(r.Account.Name, "", "")
	switch {
	case r.Container == "Tables" && r.Object != "":
		scope = rbac.StorageScope(r.Account.Name, "tables", r.Object)
	case r.Container != "" && r.Container != "Tables" && r.Container != "$batch":
		scope = rbac.StorageScope(r.Account.Name, "tables", r.Container)
	}
	return actions[r.Route.Name], scope
}
