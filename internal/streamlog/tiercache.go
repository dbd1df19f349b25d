package streamlog

import (
	"container/list"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rheos/rheos/internal/blob"
	"github.com/rheos/rheos/internal/vfs"
)

// chunkCache is the read-through cache of tiered segments: fixed-size
// chunks of a segment object, each filled by one ranged GET and kept as a
// file in the cache directory, evicted least recently used beyond its byte
// limit. Only the chunk list lives in memory; the bytes are on disk. Its
// files are not fsynced (a cache can be refilled): the directory is emptied
// when the log opens, so a crash never serves a torn chunk, and readers
// check section checksums besides.
//
// A chunk read is a hit when its file was there, a miss when the reader
// waited for a fetch (its own, another reader's or a read-ahead's).
// Concurrent readers of one missing chunk share one fetch (flights); at
// most fetchers fetches run at once, which bounds the memory in flight to
// fetchers chunks.
type chunkCache struct {
	fs    vfs.FS
	dir   string
	store blob.Store
	chunk int64
	limit int64
	sem   chan struct{}

	ctx    context.Context // ends at close: fetches stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // read-ahead goroutines

	hits, misses atomic.Int64

	mu      sync.Mutex // guards the fields below
	lru     *list.List // of *chunkEntry, most recently used first
	entries map[chunkID]*list.Element
	flights map[chunkID]*flight
	bytes   int64
}

const fetchers = 8

type chunkID struct {
	key string
	n   int64 // chunk number: bytes [n*chunk, (n+1)*chunk)
}

type chunkEntry struct {
	id   chunkID
	size int64
}

type flight struct {
	done chan struct{}
	data []byte
	err  error
}

func newChunkCache(fs vfs.FS, dir string, store blob.Store, chunk, limit int64) (*chunkCache, error) {
	if err := fs.MkdirAll(dir); err != nil {
		return nil, err
	}
	names, err := fs.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := fs.Remove(filepath.Join(dir, n)); err != nil && !vfs.IsNotExist(err) {
			return nil, fmt.Errorf("streamlog: emptying the read cache: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &chunkCache{fs: fs, dir: dir, store: store, chunk: chunk, limit: limit,
		sem: make(chan struct{}, fetchers), lru: list.New(), ctx: ctx, cancel: cancel,
		entries: map[chunkID]*list.Element{}, flights: map[chunkID]*flight{}}, nil
}

// close stops fetches and waits for the read-ahead goroutines, so that
// none writes into the cache directory after the log is closed.
func (c *chunkCache) close() {
	c.cancel()
	c.wg.Wait()
}

func (c *chunkCache) path(id chunkID) string {
	return filepath.Join(c.dir, fmt.Sprintf("%s.%d", strings.ReplaceAll(id.key, "/", "_"), id.n))
}

// readAt reads p at off of the object key, size bytes long.
func (c *chunkCache) readAt(key string, size int64, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("streamlog: negative offset %d", off)
	}
	n := 0
	missed := false
	for n < len(p) && off < size {
		id := chunkID{key, off / c.chunk}
		start := id.n * c.chunk
		clen := min(c.chunk, size-start)
		within := off - start
		want := min(int64(len(p)-n), clen-within)
		miss, err := c.read(id, clen, p[n:n+int(want)], within)
		if err != nil {
			return n, err
		}
		missed = missed || miss
		n += int(want)
		off += want
	}
	if missed {
		// Readers of a tiered segment read it forward (consumers catching
		// up, compaction): fetch the chunks after a miss ahead of them.
		for i := int64(0); i < readAhead; i++ {
			next := (off+c.chunk-1)/c.chunk + i
			if next*c.chunk >= size {
				break
			}
			c.prefetch(chunkID{key, next}, min(c.chunk, size-next*c.chunk))
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readAhead is how many chunks a miss fetches ahead.
const readAhead = 2

// prefetch fetches a chunk in the background unless it is cached, being
// fetched, or every fetcher is busy (a prefetch never waits).
func (c *chunkCache) prefetch(id chunkID, clen int64) {
	c.mu.Lock()
	if _, ok := c.entries[id]; ok {
		c.mu.Unlock()
		return
	}
	if _, ok := c.flights[id]; ok {
		c.mu.Unlock()
		return
	}
	select {
	case c.sem <- struct{}{}:
	default:
		c.mu.Unlock()
		return
	}
	fl := &flight{done: make(chan struct{})}
	c.flights[id] = fl
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		<-c.sem // the slot was only to know one is free; fetch takes its own
		c.complete(id, clen, fl)
	}()
}

// read copies dst from chunk id (clen bytes long) at within; miss says it
// had to wait for a fetch.
func (c *chunkCache) read(id chunkID, clen int64, dst []byte, within int64) (miss bool, err error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		if el, ok := c.entries[id]; ok {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			if err := c.readFile(id, dst, within); err == nil {
				c.hits.Add(1)
				return false, nil
			} else if attempt > 0 {
				return false, err
			}
			// Evicted between the lookup and the open: fetch again.
			c.mu.Lock()
			if cur, ok := c.entries[id]; ok && cur == el {
				c.removeLocked(el)
			}
			c.mu.Unlock()
			continue
		}
		if fl, ok := c.flights[id]; ok {
			c.mu.Unlock()
			<-fl.done
			if fl.err != nil {
				return true, fl.err
			}
			copy(dst, fl.data[within:])
			c.misses.Add(1)
			return true, nil
		}
		fl := &flight{done: make(chan struct{})}
		c.flights[id] = fl
		c.mu.Unlock()
		c.misses.Add(1)
		c.complete(id, clen, fl)
		if fl.err != nil {
			return true, fl.err
		}
		copy(dst, fl.data[within:])
		return true, nil
	}
}

// complete fetches the chunk of flight fl, caches it and releases the
// flight's waiters.
func (c *chunkCache) complete(id chunkID, clen int64, fl *flight) {
	var cached bool
	fl.data, cached, fl.err = c.fetch(id, clen)
	c.mu.Lock()
	delete(c.flights, id)
	if cached {
		c.entries[id] = c.lru.PushFront(&chunkEntry{id: id, size: clen})
		c.bytes += clen
		for c.bytes > c.limit && c.lru.Len() > 1 {
			back := c.lru.Back()
			c.removeLocked(back)
			// Under the lock: a fetch of the same chunk starting after
			// the eviction must not lose its new file to this removal.
			c.fs.Remove(c.path(back.Value.(*chunkEntry).id))
		}
	}
	c.mu.Unlock()
	close(fl.done)
}

func (c *chunkCache) removeLocked(el *list.Element) {
	e := el.Value.(*chunkEntry)
	c.lru.Remove(el)
	delete(c.entries, e.id)
	c.bytes -= e.size
}

func (c *chunkCache) readFile(id chunkID, dst []byte, within int64) error {
	f, err := c.fs.Open(c.path(id))
	if err != nil {
		return err
	}
	defer f.Close()
	if n, err := f.ReadAt(dst, within); n != len(dst) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// fetch reads a chunk from the store and writes its cache file.
func (c *chunkCache) fetch(id chunkID, clen int64) (data []byte, cached bool, err error) {
	c.sem <- struct{}{}
	defer func() { <-c.sem }()
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	rc, err := c.store.Get(ctx, id.key, id.n*c.chunk, clen)
	if err != nil {
		return nil, false, fmt.Errorf("fetching %s: %w", id.key, err)
	}
	defer rc.Close()
	data = make([]byte, clen)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, false, fmt.Errorf("fetching %s: %w", id.key, err)
	}
	name := c.path(id)
	tmp := name + vfs.TempSuffix
	f, err := c.fs.Create(tmp)
	if err == nil {
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = c.fs.Rename(tmp, name)
		}
	}
	if err != nil {
		// Served from memory this once; the cache stays without it.
		c.fs.Remove(tmp)
		return data, false, nil
	}
	return data, true, nil
}

// usage returns the cached bytes and the hit and miss counts.
func (c *chunkCache) usage() (bytes, hits, misses int64) {
	c.mu.Lock()
	bytes = c.bytes
	c.mu.Unlock()
	return bytes, c.hits.Load(), c.misses.Load()
}
