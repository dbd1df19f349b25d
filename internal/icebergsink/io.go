package icebergsink

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"strings"
	"time"

	icebergio "github.com/apache/iceberg-go/io"
)

// Objects is the object storage Iceberg files live in, by bucket and key
// (the built-in S3 or an external S3-compatible server). Put must be
// durable when it returns; Get's error wraps fs.ErrNotExist when the object
// is absent.
type Objects interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	Put(ctx context.Context, bucket, key string, body []byte) error
	Delete(ctx context.Context, bucket, key string) error
}

// NewIO is an iceberg-go file system over objs for s3://, s3a:// and
// s3n:// locations: what a table's metadata, manifests and data files are
// read and written through. Files are read whole and written on Close.
func NewIO(ctx context.Context, objs Objects) icebergio.WriteFileIO {
	return objectIO{ctx: ctx, objs: objs}
}

type objectIO struct {
	ctx  context.Context
	objs Objects
}

// split parses an object location: s3://bucket/key.
func split(op, name string) (bucket, key string, err error) {
	u, perr := url.Parse(name)
	if perr != nil || (u.Scheme != "s3" && u.Scheme != "s3a" && u.Scheme != "s3n") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return "", "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}

func (o objectIO) ReadFile(name string) ([]byte, error) {
	bucket, key, err := split("open", name)
	if err != nil {
		return nil, err
	}
	b, err := o.objs.Get(o.ctx, bucket, key)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return b, nil
}

func (o objectIO) Open(name string) (icebergio.File, error) {
	b, err := o.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &objectFile{Reader: bytes.NewReader(b), name: name, size: int64(len(b))}, nil
}

func (o objectIO) Remove(name string) error {
	bucket, key, err := split("remove", name)
	if err != nil {
		return err
	}
	if err := o.objs.Delete(o.ctx, bucket, key); err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	return nil
}

func (o objectIO) WriteFile(name string, p []byte) error {
	bucket, key, err := split("write", name)
	if err != nil {
		return err
	}
	if err := o.objs.Put(o.ctx, bucket, key, p); err != nil {
		return &fs.PathError{Op: "write", Path: name, Err: err}
	}
	return nil
}

func (o objectIO) Create(name string) (icebergio.FileWriter, error) {
	if _, _, err := split("create", name); err != nil {
		return nil, err
	}
	return &objectWriter{io: o, name: name}, nil
}

// objectFile is an object read whole.
type objectFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *objectFile) Close() error { return nil }

func (f *objectFile) Stat() (fs.FileInfo, error) { return fileInfo{name: f.name, size: f.size}, nil }

type fileInfo struct {
	name string
	size int64
}

func (i fileInfo) Name() string       { return i.name[strings.LastIndexByte(i.name, '/')+1:] }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o444 }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }

// objectWriter buffers a file and puts it as one object on Close.
type objectWriter struct {
	io     objectIO
	name   string
	buf    bytes.Buffer
	closed bool
}

func (w *objectWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *objectWriter) ReadFrom(r io.Reader) (int64, error) { return w.buf.ReadFrom(r) }

func (w *objectWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	return w.io.WriteFile(w.name, w.buf.Bytes())
}
