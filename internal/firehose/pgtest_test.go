package firehose

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgCluster is a throwaway PostgreSQL cluster (Debian's package) started by
// a test: initdb in a temporary directory, a free port on 127.0.0.1,
// password (SCRAM) authentication for TCP. As root it runs as the
// package's postgres user, since initdb refuses root.
type pgCluster struct {
	t        *testing.T
	bin      string // the directory of initdb and pg_ctl
	dir      string // data directory's parent (socket, log)
	data     string
	port     int
	user     string
	password string
	asUser   string // "" or the user to run the server as (runuser -u)
}

const pgHint = "the Redshift tests need PostgreSQL's initdb and pg_ctl under /usr/lib/postgresql/*/bin: scripts/test-deps.sh installs them (Debian package postgresql)"

// startPostgres starts a cluster, stopped and removed in t.Cleanup. It
// fails the test (never skips it) when PostgreSQL cannot be started.
func startPostgres(t *testing.T) *pgCluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	sort.Strings(bins)
	if len(bins) == 0 {
		t.Fatal(pgHint)
	}
	c := &pgCluster{t: t, bin: filepath.Dir(bins[len(bins)-1]), user: "rheos", password: "s3cret-pässword"}
	if _, err := os.Stat(filepath.Join(c.bin, "initdb")); err != nil {
		t.Fatal(pgHint)
	}
	dir, err := os.MkdirTemp("", "rheos-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c.dir, c.data = dir, filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, initdb needs the postgres user: %v; %s", err, pgHint)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.asUser = "postgres"
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := c.run("initdb", "-D", c.data, "-U", c.user, "--pwfile="+pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s\n%s", err, out, pgHint)
	}
	c.port = freePort(t)
	c.start()
	t.Cleanup(c.stop)
	return c
}

// run runs one of PostgreSQL's programs (as the postgres user when root).
func (c *pgCluster) run(prog string, args ...string) ([]byte, error) {
	name, argv := filepath.Join(c.bin, prog), args
	if c.asUser != "" {
		name, argv = "runuser", append([]string{"-u", c.asUser, "--", filepath.Join(c.bin, prog)}, args...)
	}
	cmd := exec.Command(name, argv...)
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func (c *pgCluster) start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", c.port, c.dir)
	if out, err := c.run("pg_ctl", "-D", c.data, "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "30", "start"); err != nil {
		logText, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("pg_ctl start: %v\n%s\n%s\n%s", err, out, logText, pgHint)
	}
}

// stop stops the server (fast shutdown); stopping a stopped one is a no-op.
func (c *pgCluster) stop() {
	c.run("pg_ctl", "-D", c.data, "-m", "fast", "-w", "stop")
}

// jdbcURL is the cluster's database as a Firehose ClusterJDBCURL.
func (c *pgCluster) jdbcURL() string {
	return fmt.Sprintf("jdbc:postgresql://127.0.0.1:%d/postgres", c.port)
}

// connect opens a connection for the test to query with.
func (c *pgCluster) connect() *pgx.Conn {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.user, c.password), Host: fmt.Sprintf("127.0.0.1:%d", c.port), Path: "/postgres", RawQuery: "sslmode=disable"}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		c.t.Fatalf("connecting to the test PostgreSQL: %v", err)
	}
	c.t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// exec runs SQL statements on the cluster.
func (c *pgCluster) exec(sql string) {
	c.t.Helper()
	if _, err := c.connect().Exec(context.Background(), sql); err != nil {
		c.t.Fatalf("%s: %v", sql, err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
