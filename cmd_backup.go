package main

import (
	"context"
	"fmt"
	"io"

	"github.com/sectriage/sectriage/storage"
)

// cmdBackup writes a consistent, checked copy of the database while the
// daemon runs. Restoring is a file copy (see README).
func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, configPath := newFlags("backup")
	if code, done := parseFlags(fs, args, stdout, stderr, exitUsage); done {
		return code
	}
	if fs.NArg() != 1 {
		usageError(stderr, mustSubcommand("backup"))
		return exitUsage
	}
	cfg, ok := loadConfig(*configPath, stderr)
	if !ok {
		return exitUsage
	}
	db, err := storage.Open(ctx, cfg.Resolve(cfg.Storage.Path), discardLogger())
	if err != nil {
		fmt.Fprintln(stderr, "sectriage backup:", err)
		return exitFailed
	}
	defer db.Close()
	info, err := db.Backup(ctx, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "sectriage backup:", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "backup %s: %d incidents, %d events, %d reports, %d bytes; integrity check ok\n",
		info.Path, info.Incidents, info.Events, info.Reports, info.Bytes)
	return exitOK
}
