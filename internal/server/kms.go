package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/datastream"
)

// kmsProvider wraps data keys with any endpoint speaking the AWS KMS API
// (GenerateDataKey, Decrypt): AWS KMS itself, or a compatible server.
type kmsProvider struct{ c *kms.Client }

func newKMSProvider(cfg config.Config) *kmsProvider {
	opts := kms.Options{Region: cfg.KMSRegion, BaseEndpoint: aws.String(cfg.KMSEndpoint)}
	if cfg.KMSAccessKeyID != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(cfg.KMSAccessKeyID, cfg.KMSSecretAccessKey, "")
	}
	return &kmsProvider{c: kms.New(opts)}
}

func kmsErr(err error) error {
	var nf *kmstypes.NotFoundException
	var ad *kmstypes.DisabledException
	switch {
	case errors.As(err, &nf):
		return fmt.Errorf("%w: %v", datastream.ErrKMSNotFound, err)
	case errors.As(err, &ad):
		return fmt.Errorf("%w: %v", datastream.ErrKMSAccessDenied, err)
	}
	return err
}

func (p *kmsProvider) GenerateDataKey(ctx context.Context, keyID string, encCtx map[string]string) ([]byte, []byte, error) {
	out, err := p.c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: encCtx})
	if err != nil {
		return nil, nil, kmsErr(err)
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

func (p *kmsProvider) Decrypt(ctx context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error) {
	out, err := p.c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wrapped, EncryptionContext: encCtx})
	if err != nil {
		return nil, kmsErr(err)
	}
	return out.Plaintext, nil
}
