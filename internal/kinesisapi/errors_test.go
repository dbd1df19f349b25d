package kinesisapi

import (
	"testing"

	"github.com/rheos/rheos/internal/awsmodel/kinesismodel"
)

// notAnswered lists the exceptions AWS's Kinesis model names that Rheos
// never answers, and why.
var notAnswered = map[string]string{
	"InternalFailureException": "Rheos answers server faults as InternalFailure (the name kinesalite recorded from AWS and SDKs retry)",
	"KMSDisabledException":     "the local keyring has no disabled keys; a KMS endpoint's DisabledException maps to KMSAccessDeniedException",
	"KMSOptInRequired":         "no opt-in exists on a self-hosted server",
	"KMSThrottlingException":   "KMS throttling surfaces as KMSInvalidStateException (the provider retries first)",
}

// TestCatalogAgainstModel: every exception the model lets a Kinesis
// operation return is in the catalog (or named above with the reason), with
// the model's status; every Kinesis-specific exception of the catalog is one
// the model knows.
func TestCatalogAgainstModel(t *testing.T) {
	model := map[string]bool{}
	for _, op := range kinesismodel.Model.Operations {
		for _, name := range op.Errors {
			model[name] = true
		}
	}
	for name := range model {
		if why, ok := notAnswered[name]; ok {
			if _, inCatalog := Exceptions.Lookup(name); inCatalog {
				t.Errorf("%s is listed as not answered (%s) but is in the catalog", name, why)
			}
			continue
		}
		ex, ok := Exceptions.Lookup(name)
		if !ok {
			t.Errorf("the model's %s is not in the Kinesis catalog", name)
			continue
		}
		if sh := kinesismodel.Model.Shapes[name]; sh != nil && sh.ErrorStatus != 0 && sh.ErrorStatus != ex.Status {
			t.Errorf("%s: the model says HTTP %d, the catalog %d", name, sh.ErrorStatus, ex.Status)
		}
	}
	for _, ex := range []string{exExpiredIterator.Name, exExpiredNextToken.Name, exInvalidArgument.Name, exLimitExceeded.Name,
		exProvisionedThroughputExceeded.Name, exResourceInUse.Name, exResourceNotFound.Name, exDryRunOperation.Name,
		exKMSNotFound.Name, exKMSAccessDenied.Name, exKMSInvalidState.Name} {
		if !model[ex] && ex != exDryRunOperation.Name { // DryRun (2026-09) is newer than the image's botocore model
			t.Errorf("the catalog's %s is not an exception of the Kinesis model", ex)
		}
	}
}
