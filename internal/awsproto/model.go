package awsproto

import (
	"fmt"

	"github.com/rheos/rheos/internal/awsmodel"
)

// FieldsFromModel returns the members of a structure shape of an AWS model
// (internal/awsmodel) as input Fields: types, required flags, length and
// value bounds, patterns, enums, REST locations, nested structures, lists
// and maps, in model order. Recursive shapes are cut at depth 32 (no AWS
// input nests deeper). It is how services with deep shapes get AWS's
// validation without hand-written schemas.
func FieldsFromModel(svc *awsmodel.Service, structure string) ([]Field, error) {
	sh := svc.Shape(structure)
	if sh == nil {
		return nil, nil
	}
	if sh.Type != awsmodel.Structure {
		return nil, fmt.Errorf("awsproto: %s of %s is a %s, not a structure", structure, svc.Name, sh.Type)
	}
	c := modelConverter{svc: svc}
	return c.fields(sh, 0)
}

type modelConverter struct{ svc *awsmodel.Service }

func (c modelConverter) fields(sh *awsmodel.Shape, depth int) ([]Field, error) {
	var out []Field
	for _, m := range sh.Members {
		s, err := c.shape(m.Shape, depth+1)
		if err != nil {
			return nil, err
		}
		cp := *s
		cp.Required = m.Required
		f := Field{Name: m.Name, Shape: &cp, Wire: m.LocationName}
		switch m.Location {
		case awsmodel.URI:
			f.In = InURI
		case awsmodel.Query:
			f.In = InQuery
		case awsmodel.Header:
			f.In = InHeader
		case awsmodel.Headers, awsmodel.StatusCode:
			continue // header maps and status codes are not input members Rheos binds
		}
		out = append(out, f)
	}
	return out, nil
}

func (c modelConverter) shape(name string, depth int) (*Shape, error) {
	sh := c.svc.Shape(name)
	if sh == nil {
		return nil, fmt.Errorf("awsproto: %s has no shape %s", c.svc.Name, name)
	}
	s := &Shape{Pattern: sh.Pattern, Enum: sh.Enum}
	lenBounds := func() {
		if sh.Min != nil && *sh.Min > 0 {
			s.MinLen = Len(int(*sh.Min))
		}
		if sh.Max != nil {
			s.MaxLen = Len(int(*sh.Max))
		}
	}
	switch sh.Type {
	case awsmodel.String:
		s.Type = String
		lenBounds()
	case awsmodel.Blob:
		s.Type = Blob
		lenBounds()
	case awsmodel.Integer:
		s.Type, s.Min, s.Max = Integer, sh.Min, sh.Max
	case awsmodel.Long:
		s.Type, s.Min, s.Max = Long, sh.Min, sh.Max
	case awsmodel.Boolean:
		s.Type = Boolean
	case awsmodel.Timestamp:
		s.Type = Timestamp
	case awsmodel.Double, awsmodel.Float:
		s.Type = Double
	case awsmodel.List:
		s.Type = List
		lenBounds()
		if sh.ListMember != nil && depth < 32 {
			m, err := c.shape(sh.ListMember.Shape, depth+1)
			if err != nil {
				return nil, err
			}
			s.Member = m
		}
	case awsmodel.Map:
		s.Type = Map
		lenBounds()
		if sh.Key != nil {
			if k := c.svc.Shape(sh.Key.Shape); k != nil && (k.Min != nil || k.Max != nil) {
				b := [2]int{0, 1 << 30}
				if k.Min != nil {
					b[0] = int(*k.Min)
				}
				if k.Max != nil {
					b[1] = int(*k.Max)
				}
				s.KeyLen = &b
			}
		}
		if sh.Value != nil && depth < 32 {
			v, err := c.shape(sh.Value.Shape, depth+1)
			if err != nil {
				return nil, err
			}
			s.Member = v
		}
	case awsmodel.Structure:
		s.Type = Structure
		if sh.Document {
			s.Type = Document
			return s, nil
		}
		if depth < 32 {
			fs, err := c.fields(sh, depth)
			if err != nil {
				return nil, err
			}
			s.Fields = fs
		}
	default:
		return nil, fmt.Errorf("awsproto: shape %s of %s has type %s", name, c.svc.Name, sh.Type)
	}
	return s, nil
}
