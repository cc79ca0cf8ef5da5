package rbac

import "strings"

// The built-in storage data roles, with Azure's ids and actions. Their
// management actions on containers, queues and tables are listed with the
// data actions: atrest checks both the same way.
var storageRoles = []Role{
	{ID: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", Name: "Storage Blob Data Owner",
		Description: "Full access to blob containers and data, including assigning POSIX access control.",
		DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/*", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"}},
	{ID: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", Name: "Storage Blob Data Contributor",
		Description: "Read, write, and delete blob containers and blobs.",
		DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/containers/write",
			"Microsoft.Storage/storageAccounts/blobServices/containers/delete", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
			"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
			"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action"}},
	{ID: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", Name: "Storage Blob Data Reader",
		Description: "Read and list blob containers and blobs.",
		DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}},
	{ID: "974c5e8b-45b9-4653-ba55-5f855dd0fb88", Name: "Storage Queue Data Contributor",
		Description: "Read, write, and delete queues and queue messages.",
		DataActions: []string{"Microsoft.Storage/storageAccounts/queueServices/queues/read", "Microsoft.Storage/storageAccounts/queueServices/queues/write",
			"Microsoft.Storage/storageAccounts/queueServices/queues/delete", "Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",
			"Microsoft.Storage/storageAccounts/queueServices/queues/messages/write", "Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete",
			"Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action", "Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action"}},
	{ID: "19e7f393-937e-4f77-808e-94535e297925", Name: "Storage Queue Data Reader",
		Description: "Read and list queues and queue messages.",
		DataActions: []string{"Microsoft.Storage/storageAccounts/queueServices/queues/read", "Microsoft.Storage/storageAccounts/queueServices/queues/messages/read"}},
	{ID: "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a", Name: "Storage Queue Data Message Sender",
		Description: "Add messages to a queue.",
		DataActions: []string{"Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action"}},
	{ID: "8a0f0c08-91a1-4084-bc3d-661d67233fed", Name: "Storage Queue Data Message Processor",
		Description: "Peek, receive, and delete messages.",
		DataActions: []string{"Microsoft.Storage/storageAccounts/queueServices/queues/messages/read", "Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action"}},
	{ID: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", Name: "Storage Table Data Contributor",
		Description: "Read, write, and delete tables and entities.",
		DataActions: []string{"Microsoft.Storage/storageAccounts/tableServices/tables/read", "Microsoft.Storage/storageAccounts/tableServices/tables/write",
			"Microsoft.Storage/storageAccounts/tableServices/tables/delete", "Microsoft.Storage/storageAccounts/tableServices/tables/entities/read",
			"Microsoft.Storage/storageAccounts/tableServices/tables/entities/write", "Microsoft.Storage/storageAccounts/tableServices/tables/entities/delete",
			"Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action", "Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action"}},
	{ID: "76199698-9eea-4c19-bc75-cec21354c6b6", Name: "Storage Table Data Reader",
		Description: "Read and list tables and entities.",
		DataActions: []string{"Microsoft.Storage/storageAccounts/tableServices/tables/read", "Microsoft.Storage/storageAccounts/tableServices/tables/entities/read"}},
}

func init() { Roles = append(Roles, storageRoles...) }

// StorageScope is the scope of a storage account, or of one container,
// queue or table in it (kind "containers", "queues" or "tables").
func StorageScope(account, kind, name string) string {
	s := "/storageaccounts/" + strings.ToLower(account)
	if kind != "" && name != "" {
		s += "/" + kind + "/" + strings.ToLower(name)
	}
	return s
}

// parseStorageScope accepts /storageaccounts/ACCT[/containers|queues|tables/NAME].
func parseStorageScope(p []string) bool {
	if p[0] != "storageaccounts" {
		return false
	}
	switch len(p) {
	case 2:
		return true
	case 4:
		return p[2] == "containers" || p[2] == "queues" || p[2] == "tables"
	}
	return false
}
