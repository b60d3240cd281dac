package mmserver

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pgBinDir is where Debian's postgresql-15 package puts the server binaries
// (they are not on PATH).
const pgBinDir = "/usr/lib/postgresql/15/bin"

func pgBin(name string) string { return filepath.Join(pgBinDir, name) }

// postgres is one private PostgreSQL 15 cluster: its own data directory, a
// random port on 127.0.0.1, no unix socket, trust authentication, and no
// fsync, because the data is thrown away after the test.
type postgres struct {
	dataDir string
	logPath string
	cred    *syscall.Credential // nil: run as ourselves
	port    int
	proc    *process
}

// pgCredential returns whom PostgreSQL runs as. initdb and postgres refuse
// to run as root, so a root test process runs them as the postgres OS user
// that the Debian package creates.
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres OS user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (pg *postgres) chown(path string) error {
	if pg.cred == nil {
		return nil
	}
	return os.Chown(path, int(pg.cred.Uid), int(pg.cred.Gid))
}

// initdb creates an empty cluster.
func (pg *postgres) initdb() error {
	if err := os.Mkdir(pg.dataDir, 0o700); err != nil {
		return err
	}
	if err := pg.chown(pg.dataDir); err != nil {
		return err
	}
	// 1 MB WAL segments instead of 16 keep a template copy small: its WAL
	// is a third of it otherwise.
	return run(pg.cred, pgBin("initdb"), "-D", pg.dataDir, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--wal-segsize=1", "--no-sync", "--no-instructions")
}

// copyFrom makes the cluster a copy of a template data directory. cp -a
// keeps the owner and the 0700 mode that postgres insists on.
func (pg *postgres) copyFrom(template string) error {
	return run(nil, "cp", "-a", template, pg.dataDir)
}

// start runs postgres on a free port and waits until it accepts queries.
func (pg *postgres) start() error {
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		offset := logSize(pg.logPath)
		cmd := exec.Command(pgBin("postgres"), "-D", pg.dataDir,
			"-c", "listen_addresses=127.0.0.1",
			"-c", "port="+strconv.Itoa(port),
			"-c", "unix_socket_directories=",
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
		)
		cmd.Env = childEnv()
		// SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") would
		// wait for every client to disconnect first.
		p, err := startProcess("postgres", cmd, pg.logPath, syscall.SIGINT, pg.cred)
		if err != nil {
			return err
		}
		err = p.poll(60*time.Second, pg.ready)
		if err == nil {
			pg.port, pg.proc = port, p
			return nil
		}
		p.stop(5 * time.Second)
		if attempt < 3 && addrInUse(pg.logPath, offset) {
			continue
		}
		return fmt.Errorf("%w; last lines of %s:\n%s", err, pg.logPath, tail(pg.logPath, 20))
	}
}

// ready reads the status line postgres keeps in postmaster.pid, as pg_ctl -w
// does; it says "ready" once the server accepts connections (after any
// recovery, which a template copy goes through).
func (pg *postgres) ready() bool {
	b, err := os.ReadFile(filepath.Join(pg.dataDir, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	return len(lines) > 7 && strings.TrimSpace(lines[7]) == "ready"
}

// dsn is what Mattermost connects with: the superuser, over loopback TCP,
// to the database initdb makes anyway. The cluster is private, so a
// database of its own would only be one more to create and to copy.
func (pg *postgres) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=10", pg.port)
}

func (pg *postgres) stop() {
	if pg.proc != nil {
		pg.proc.stop(15 * time.Second)
	}
}

// Template clusters. Mattermost's first start on an empty database runs its
// schema and data migrations; a copy of a cluster that already went through
// them skips initdb and the migrations. The template is a pg_basebackup of
// the running cluster, taken right after the first start and before any
// user exists, and kept next to the binary it was migrated by.

// templatePath names the template for this binary, or "" when templates are
// turned off (SECTRIAGE_MATTERMOST_TEMPLATE=off, to measure or debug a
// fresh start).
func templatePath(bin string) string {
	if os.Getenv("SECTRIAGE_MATTERMOST_TEMPLATE") == "off" {
		return ""
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return ""
	}
	// A rebuilt binary may migrate differently; "v3" is the template format.
	key := sha256.Sum256(fmt.Appendf(nil, "v3 pg15 %d %d", fi.Size(), fi.ModTime().UnixNano()))
	return filepath.Join(filepath.Dir(bin), "pgtemplate-"+hex.EncodeToString(key[:6]))
}

// usableTemplate reports whether the template exists and we may read it (a
// template made by root belongs to the postgres user).
func usableTemplate(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(path, "PG_VERSION"))
	return err == nil
}

// snapshot writes a consistent copy of the running cluster to dst. It is
// built in a staging directory and renamed into place, so that concurrent
// test binaries never see half a template; the first rename wins.
func (pg *postgres) snapshot(dst string) error {
	staging, err := os.MkdirTemp(filepath.Dir(dst), ".pgtemplate-tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(staging)
	if err := pg.chown(staging); err != nil {
		return err
	}
	data := filepath.Join(staging, "data")
	if err := run(pg.cred, pgBin("pg_basebackup"), "-h", "127.0.0.1", "-p", strconv.Itoa(pg.port),
		"-U", "postgres", "-D", data, "-X", "stream", "-c", "fast"); err != nil {
		return err
	}
	if err := os.Rename(data, dst); err != nil && !errors.Is(err, os.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return err
	}
	// Templates of other binaries or formats are dead weight (~30 MB each).
	// Should another test binary be copying one right now, its copy fails
	// and it falls back to a fresh database.
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), "pgtemplate-*"))
	for _, o := range old {
		if o != dst {
			os.RemoveAll(o)
		}
	}
	return nil
}
