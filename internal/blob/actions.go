package blob

import (
	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/rbac"
)

// Azure's RBAC actions for each Blob operation, checked for bearer tokens.
const (
	actContainerRead   = "Microsoft.Storage/storageAccounts/blobServices/containers/read"
	actContainerWrite  = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
	actContainerDelete = "Microsoft.Storage/storageAccounts/blobServices/containers/delete"
	actBlobRead        = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	actBlobWrite       = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	actBlobDelete      = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"
	actBlobAdd         = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"
	actServiceRead     = "Microsoft.Storage/storageAccounts/blobServices/read"
	actServiceWrite    = "Microsoft.Storage/storageAccounts/blobServices/write"
)

var actions = map[string]string{
	"GetBlobServiceProperties": actServiceRead, "SetBlobServiceProperties": actServiceWrite,
	"ListContainers": actContainerRead, "GetAccountInformation": actContainerRead,
	"CreateContainer": actContainerWrite, "DeleteContainer": actContainerDelete,
	"GetContainerProperties": actContainerRead, "GetContainerMetadata": actContainerRead,
	"SetContainerMetadata": actContainerWrite, "GetContainerACL": actContainerRead,
	"SetContainerACL": actContainerWrite, "LeaseContainer": actContainerWrite,
	"ListBlobs": actBlobRead, "GetBlob": actBlobRead, "GetBlobProperties": actBlobRead,
	"GetBlobMetadata": actBlobRead, "GetBlockList": actBlobRead, "GetPageRanges": actBlobRead,
	"PutBlob": actBlobWrite, "PutBlock": actBlobWrite, "PutBlockList": actBlobWrite, "CopyBlob": actBlobWrite,
	"SetBlobProperties": actBlobWrite, "SetBlobMetadata": actBlobWrite, "SnapshotBlob": actBlobWrite,
	"LeaseBlob": actBlobWrite, "SetBlobTier": actBlobWrite, "AbortCopyBlob": actBlobWrite, "PutPage": actBlobWrite,
	"AppendBlock": actBlobAdd, "DeleteBlob": actBlobDelete,
	"GetUserDelegationKey": "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
}

// Action is the RBAC action and scope a Blob request needs.
func (s *Service) Action(r *edge.Request) (string, string) {
	scope := rbac.StorageScope(r.Account.Name, "", "")
	if r.Container != "" {
		scope = rbac.StorageScope(r.Account.Name, "containers", r.Container)
	}
	return actions[r.Route.Name], scope
}
