package queue

import (
	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/rbac"
)

const actPrefix = "Microsoft.Storage/storageAccounts/queueServices/queues/"

var actions = map[string]string{
	"ListQueues": actPrefix + "read", "CreateQueue": actPrefix + "write", "DeleteQueue": actPrefix + "delete",
	"GetQueueMetadata": actPrefix + "read", "SetQueueMetadata": actPrefix + "write",
	"PutMessage": actPrefix + "messages/add/action", "UpdateMessage": actPrefix + "messages/write",
	"DeleteMessage": actPrefix + "messages/process/action", "ClearMessages": actPrefix + "messages/delete",
}

// Action is the RBAC action and scope a Queue request needs. Peeking reads;
// receiving (which hides and counts a message) is processing.
func (s *Service) Action(r *edge.Request) (string, string) {
	scope := rbac.StorageScope(r.Account.Name, "", "")
	if r.Container != "" {
		scope = rbac.StorageScope(r.Account.Name, "queues", r.Container)
	}
	if r.Route.Name == "GetMessages" {
		if r.URL.Query().Get("peekonly") == "true" {
			return actPrefix + "messages/read", scope
		}
		return actPrefix + "messages/process/action", scope
	}
	return actions[r.Route.Name], scope
}
