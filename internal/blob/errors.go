package blob

import (
	"net/http"

	"github.com/atrest/atrest/internal/edge"
)

// Blob service error codes, as the REST reference names them.
var (
	errContainerNotFound      = &edge.Error{Status: http.StatusNotFound, Code: "ContainerNotFound", Message: "The specified container does not exist."}
	errContainerExists        = &edge.Error{Status: http.StatusConflict, Code: "ContainerAlreadyExists", Message: "The specified container already exists."}
	errBlobNotFound           = &edge.Error{Status: http.StatusNotFound, Code: "BlobNotFound", Message: "The specified blob does not exist."}
	errBlobExists             = &edge.Error{Status: http.StatusConflict, Code: "BlobAlreadyExists", Message: "The specified blob already exists."}
	errInvalidBlockList       = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidBlockList", Message: "The specified block list is invalid."}
	errInvalidBlockID         = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidBlockId", Message: "The specified block ID is invalid. The block ID must be Base64-encoded."}
	errInvalidBlobOrBlock     = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidBlobOrBlock", Message: "The specified blob or block content is invalid."}
	errInvalidRange           = &edge.Error{Status: http.StatusRequestedRangeNotSatisfiable, Code: "InvalidRange", Message: "The range specified is invalid for the current size of the resource."}
	errInvalidBlobType        = &edge.Error{Status: http.StatusConflict, Code: "InvalidBlobType", Message: "The blob type is invalid for this operation."}
	errSnapshotsPresent       = &edge.Error{Status: http.StatusConflict, Code: "SnapshotsPresent", Message: "This operation is not permitted because the blob has snapshots."}
	errSnapshotOpNotSupported = &edge.Error{Status: http.StatusBadRequest, Code: "OperationNotSupportedOnSnapshot", Message: "This operation is not supported on a snapshot."}
	errCannotVerifyCopySource = &edge.Error{Status: http.StatusNotFound, Code: "CannotVerifyCopySource", Message: "The copy source could not be verified."}
	errInvalidCopySource      = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidHeaderValue", Message: "The copy source URL is not a blob on this server."}
	errMaxSizeCondition       = &edge.Error{Status: http.StatusPreconditionFailed, Code: "MaxBlobSizeConditionNotMet", Message: "The max blob size condition specified was not met."}
	errAppendPosCondition     = &edge.Error{Status: http.StatusPreconditionFailed, Code: "AppendPositionConditionNotMet", Message: "The append position condition specified was not met."}
	errBlockCountExceeded     = &edge.Error{Status: http.StatusConflict, Code: "BlockCountExceedsLimit", Message: "The committed block count cannot exceed the maximum limit of 50,000 blocks."}
	errSeqNumCondition        = &edge.Error{Status: http.StatusPreconditionFailed, Code: "SequenceNumberConditionNotMet", Message: "The sequence number condition specified was not met."}
	errPageRangeInvalid       = &edge.Error{Status: http.StatusRequestedRangeNotSatisfiable, Code: "InvalidPageRange", Message: "The page range specified is invalid."}
	errPublicAccessNotPermit  = &edge.Error{Status: http.StatusNotFound, Code: "ResourceNotFound", Message: "The specified resource does not exist."}
	errDataUnreadable         = &edge.Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "The stored data could not be authenticated and was not returned."}

	errLeaseAlreadyPresent    = &edge.Error{Status: http.StatusConflict, Code: "LeaseAlreadyPresent", Message: "There is already a lease present."}
	errLeaseIDMismatchLeaseOp = &edge.Error{Status: http.StatusConflict, Code: "LeaseIdMismatchWithLeaseOperation", Message: "The lease ID specified did not match the lease ID for the blob."}
	errLeaseNotPresentLeaseOp = &edge.Error{Status: http.StatusConflict, Code: "LeaseNotPresentWithLeaseOperation", Message: "There is currently no lease."}
	errLeaseBrokenRenew       = &edge.Error{Status: http.StatusConflict, Code: "LeaseIsBrokenAndCannotBeRenewed", Message: "The lease ID matched, but the lease has been broken explicitly and cannot be renewed."}
	errLeaseBreakingAcquire   = &edge.Error{Status: http.StatusConflict, Code: "LeaseIsBreakingAndCannotBeAcquired", Message: "The lease ID matched, but the lease is currently in breaking state and cannot be acquired until it is broken."}
	errLeaseBreakingChange    = &edge.Error{Status: http.StatusConflict, Code: "LeaseIsBreakingAndCannotBeChanged", Message: "The lease ID matched, but the lease is currently in breaking state and cannot be changed."}
	errLeaseIDMissing         = &edge.Error{Status: http.StatusPreconditionFailed, Code: "LeaseIdMissing", Message: "There is currently a lease on the resource and no lease ID was specified in the request."}
	errLeaseIDMismatchOp      = &edge.Error{Status: http.StatusPreconditionFailed, Code: "LeaseIdMismatchWithBlobOperation", Message: "The lease ID specified did not match the lease ID for the blob."}
	errLeaseNotPresentOp      = &edge.Error{Status: http.StatusPreconditionFailed, Code: "LeaseNotPresentWithBlobOperation", Message: "There is currently no lease on the blob."}
	errContainerLeaseMismatch = &edge.Error{Status: http.StatusPreconditionFailed, Code: "LeaseIdMismatchWithContainerOperation", Message: "The lease ID specified did not match the lease ID for the container."}
	errContainerLeaseMissing  = &edge.Error{Status: http.StatusPreconditionFailed, Code: "LeaseIdMissing", Message: "There is currently a lease on the container and no lease ID was specified in the request."}
	errContainerLeaseNotHere  = &edge.Error{Status: http.StatusPreconditionFailed, Code: "LeaseNotPresentWithContainerOperation", Message: "There is currently no lease on the container."}
	errContainerBeingDeleted  = &edge.Error{Status: http.StatusConflict, Code: "ContainerBeingDeleted", Message: "The specified container is being deleted."}
)
