package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// assetFS holds the front end: index.html, app.css, the shell's modules
// (app.js, theme.js, lib/) and one module per page (pages/). No build step:
// the browser loads plain ES modules.
//
//go:embed assets
var assetFS embed.FS

// asset is one embedded file, plain and gzipped, with its ETag.
type asset struct {
	plain, gz []byte
	ctype     string
	etag      string
}

// assetSet is every embedded file, prepared once.
type assetSet struct {
	byPath map[string]*asset
}

func loadAssets() (*assetSet, error) {
	s := &assetSet{byPath: map[string]*asset{}}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if strings.HasSuffix(p, ".js") {
			ct = "text/javascript; charset=utf-8"
		}
		s.byPath[strings.TrimPrefix(p, "assets/")] = &asset{plain: b, gz: gz.Bytes(), ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return s, err
}

// serve writes the asset at p (relative to assets/), gzipped when the
// client accepts it; revalidated by ETag on every load (no-cache), so an
// upgraded binary's assets are never stale.
func (s *assetSet) serve(w http.ResponseWriter, r *http.Request, p string) {
	a := s.byPath[p]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.plain
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	w.Write(body)
}

// ShellFiles are the assets the shell loads before any page: its size
// (gzipped) is what a first visit costs.
var ShellFiles = []string{"index.html", "app.css", "theme.js", "app.js", "lib/api.js", "lib/ui.js", "lib/chart.js"}

// GzippedSize returns the gzipped size of the named assets (relative to
// assets/), and an error naming one that does not exist.
func GzippedSize(names []string) (int, error) {
	s, err := loadAssets()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		a := s.byPath[name]
		if a == nil {
			return 0, fs.ErrNotExist
		}
		n += len(a.gz)
	}
	return n, nil
}
