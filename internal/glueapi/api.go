// Package glueapi owns the AWS Glue API subset Rheos serves (AWSGlue.*,
// JSON 1.1, signing name glue): CreateDatabase, GetDatabase, GetDatabases,
// DeleteDatabase, CreateTable, GetTable, GetTables, UpdateTable (with
// VersionId's optimistic lock, as Iceberg catalogs commit), DeleteTable, with input shapes and validation from
// AWS's published model (internal/awsmodel/gluemodel) and one table from
// the catalog's error kinds to Glue's exceptions.
package glueapi

import (
	"context"
	"errors"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsmodel/gluemodel"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/jsonrpc"
	"github.com/rheos/rheos/internal/glue"
)

// SigningName is the SigV4 service name of the Glue API.
const SigningName = "glue"

var (
	exAlreadyExists  = awserr.Exception{Name: "AlreadyExistsException", Status: 400}
	exEntityNotFound = awserr.Exception{Name: "EntityNotFoundException", Status: 400}
	exInvalidInput   = awserr.Exception{Name: "InvalidInputException", Status: 400}
	exConcurrent     = awserr.Exception{Name: "ConcurrentModificationException", Status: 400}
	exceptionOf      = map[glue.Kind]awserr.Exception{
		glue.KindAlreadyExists: exAlreadyExists, glue.KindNotFound: exEntityNotFound,
		glue.KindInvalidInput: exInvalidInput, glue.KindConcurrentModification: exConcurrent,
		glue.KindInternal: awserr.InternalFailure,
	}
)

// Exceptions is the catalog of the exceptions the Glue API answers.
var Exceptions = awserr.NewCatalog("glue", exAlreadyExists, exEntityNotFound, exInvalidInput, exConcurrent)

type api struct {
	svc            *glue.Service
	defaultAccount string
}

// New returns the JSON-RPC service of the Glue API subset.
func New(svc *glue.Service, defaultAccount string) (*jsonrpc.Service, error) {
	a := &api{svc: svc, defaultAccount: defaultAccount}
	handlers := map[string]func(context.Context, *awsproto.Call) (any, error){
		"CreateDatabase": a.createDatabase, "GetDatabase": a.getDatabase, "CreateTable": a.createTable,
		"GetTable": a.getTable, "GetTables": a.getTables, "DeleteTable": a.deleteTable,
		"UpdateTable": a.updateTable, "GetDatabases": a.getDatabases, "DeleteDatabase": a.deleteDatabase,
	}
	ops := map[string]*jsonrpc.Operation{}
	for name, op := range gluemodel.Model.Operations {
		h, ok := handlers[name]
		if !ok {
			return nil, errors.New("glueapi: no handler for " + name)
		}
		fields, err := awsproto.FieldsFromModel(gluemodel.Model, op.Input)
		if err != nil {
			return nil, err
		}
		ops[name] = &jsonrpc.Operation{Input: fields, Handle: a.wrap(name, h)}
	}
	return &jsonrpc.Service{SigningName: SigningName, TargetPrefix: gluemodel.Model.TargetPrefix, Operations: ops}, nil
}

func (a *api) wrap(op string, h func(context.Context, *awsproto.Call) (any, error)) func(context.Context, *awsproto.Call) (any, error) {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		if c.Authorize != nil {
			sc := a.scope(c)
			resource := "arn:aws:glue:" + sc.Region + ":" + sc.Account + ":catalog"
			if aerr := c.Authorize(ctx, "glue:"+op, resource); aerr != nil {
				return nil, aerr
			}
		}
		if id, _ := c.Input["CatalogId"].(string); id != "" && id != a.scope(c).Account {
			return nil, awserr.New(exInvalidInput, "CatalogId "+id+" is not this account's catalog.")
		}
		out, err := h(ctx, c)
		if err != nil {
			var ge *glue.Error
			if errors.As(err, &ge) {
				ex, ok := exceptionOf[ge.Kind]
				if !ok {
					ex = awserr.InternalFailure
				}
				return nil, &awserr.Error{Exception: ex, Message: ge.Msg, Cause: err}
			}
			return nil, err
		}
		return out, nil
	}
}

func (a *api) scope(c *awsproto.Call) glue.Scope {
	acct := c.Account
	if acct == "" {
		acct = a.defaultAccount
	}
	return glue.Scope{Account: acct, Region: c.Region}
}

func str(c *awsproto.Call, k string) string { s, _ := c.Input[k].(string); return s }

func mapIn(c *awsproto.Call, k string) map[string]any { m, _ := c.Input[k].(map[string]any); return m }

func (a *api) createDatabase(ctx context.Context, c *awsproto.Call) (any, error) {
	return map[string]any{}, a.svc.CreateDatabase(ctx, a.scope(c), mapIn(c, "DatabaseInput"))
}

func (a *api) getDatabase(ctx context.Context, c *awsproto.Call) (any, error) {
	d, err := a.svc.GetDatabase(ctx, a.scope(c), str(c, "Name"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Database": databaseOut(a.scope(c).Account, d)}, nil
}

func databaseOut(catalog string, d glue.Database) map[string]any {
	out := map[string]any{"CatalogId": catalog, "CreateTime": float64(d.CreateTime.UnixMilli()) / 1000}
	for k, v := range d.Input {
		out[k] = v
	}
	return out
}

func (a *api) getDatabases(ctx context.Context, c *awsproto.Call) (any, error) {
	max := 100
	if v, ok := c.Input["MaxResults"].(int64); ok {
		max = int(v)
	}
	ds, next, err := a.svc.GetDatabases(ctx, a.scope(c), str(c, "NextToken"), max)
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, d := range ds {
		list = append(list, databaseOut(a.scope(c).Account, d))
	}
	out := map[string]any{"DatabaseList": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (a *api) deleteDatabase(ctx context.Context, c *awsproto.Call) (any, error) {
	return map[string]any{}, a.svc.DeleteDatabase(ctx, a.scope(c), str(c, "Name"))
}

func (a *api) updateTable(ctx context.Context, c *awsproto.Call) (any, error) {
	in := mapIn(c, "TableInput")
	if in == nil {
		return nil, awserr.New(exInvalidInput, "TableInput is required.")
	}
	return map[string]any{}, a.svc.UpdateTable(ctx, a.scope(c), str(c, "DatabaseName"), in, str(c, "VersionId"))
}

func (a *api) createTable(ctx context.Context, c *awsproto.Call) (any, error) {
	in := mapIn(c, "TableInput")
	if in == nil {
		return nil, awserr.New(exInvalidInput, "TableInput is required.")
	}
	return map[string]any{}, a.svc.CreateTable(ctx, a.scope(c), str(c, "DatabaseName"), in)
}

func tableOut(catalog string, t glue.Table) map[string]any {
	out := map[string]any{"DatabaseName": t.DatabaseName, "CatalogId": catalog, "IsRegisteredWithLakeFormation": false,
		"CreateTime": float64(t.CreateTime.UnixMilli()) / 1000, "UpdateTime": float64(t.UpdateTime.UnixMilli()) / 1000,
		"VersionId": t.VersionID()}
	for k, v := range t.Input {
		out[k] = v
	}
	return out
}

func (a *api) getTable(ctx context.Context, c *awsproto.Call) (any, error) {
	t, err := a.svc.GetTable(ctx, a.scope(c), str(c, "DatabaseName"), str(c, "Name"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Table": tableOut(a.scope(c).Account, t)}, nil
}

func (a *api) getTables(ctx context.Context, c *awsproto.Call) (any, error) {
	max := 100
	if v, ok := c.Input["MaxResults"].(int64); ok {
		max = int(v)
	}
	ts, next, err := a.svc.GetTables(ctx, a.scope(c), str(c, "DatabaseName"), str(c, "NextToken"), max)
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, t := range ts {
		list = append(list, tableOut(a.scope(c).Account, t))
	}
	out := map[string]any{"TableList": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (a *api) deleteTable(ctx context.Context, c *awsproto.Call) (any, error) {
	return map[string]any{}, a.svc.DeleteTable(ctx, a.scope(c), str(c, "DatabaseName"), str(c, "Name"))
}
