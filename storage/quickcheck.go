package storage

import (
	"context"
	"fmt"
)

// QuickCheck runs SQLite's PRAGMA quick_check: the structure of every page
// and index, in linear time (unlike integrity_check, it does not match
// index entries to rows). It returns the problems SQLite names; none
// means the file is sound.
func (db *DB) QuickCheck(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return nil, fmt.Errorf("storage: quick_check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	return problems, rows.Err()
}
