package kinesisapi

import "github.com/rheos/rheos/internal/awserr"

// The Kinesis exceptions (Kinesis_20131202 speaks JSON 1.1 and CBOR 1.1, so
// every client error is a 400); the shared ones (ValidationException,
// signature errors, InternalFailure) come from awserr.
var (
	exExpiredIterator               = awserr.Exception{Name: "ExpiredIteratorException", Status: 400}
	exExpiredNextToken              = awserr.Exception{Name: "ExpiredNextTokenException", Status: 400}
	exInvalidArgument               = awserr.Exception{Name: "InvalidArgumentException", Status: 400}
	exLimitExceeded                 = awserr.Exception{Name: "LimitExceededException", Status: 400, Retryable: true}
	exProvisionedThroughputExceeded = awserr.Exception{Name: "ProvisionedThroughputExceededException", Status: 400, Retryable: true}
	exResourceInUse                 = awserr.Exception{Name: "ResourceInUseException", Status: 400}
	exResourceNotFound              = awserr.Exception{Name: "ResourceNotFoundException", Status: 400}
	exDryRunOperation               = awserr.Exception{Name: "DryRunOperationException", Status: 400}
	exKMSNotFound                   = awserr.Exception{Name: "KMSNotFoundException", Status: 400}
	exKMSAccessDenied               = awserr.Exception{Name: "KMSAccessDeniedException", Status: 400}
	exKMSInvalidState               = awserr.Exception{Name: "KMSInvalidStateException", Status: 400}
)

// Exceptions is the catalog of every exception the Kinesis API answers.
var Exceptions = awserr.NewCatalog("kinesis", exExpiredIterator, exExpiredNextToken, exInvalidArgument,
	exLimitExceeded, exProvisionedThroughputExceeded, exResourceInUse, exResourceNotFound, exDryRunOperation,
	exKMSNotFound, exKMSAccessDenied, exKMSInvalidState)
