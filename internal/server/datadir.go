package server

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// tightenDataDir makes the data directory the server user's alone: the
// directory and everything in it lose their group and other permission
// bits (the stores create files 0600 and directories 0700, vfs.FilePerm
// and vfs.DirPerm; this brings a directory written by an older version, or
// copied in with a wider umask, to the same state). Owner bits are kept
// (a function's executable stays executable). Symbolic links are not
// followed. It fails when a mode cannot be changed: a data directory others
// can read is not served.
func tightenDataDir(dir string, log *slog.Logger) error {
	changed := 0
	root, err := filepath.EvalSymlinks(dir) // the data directory itself may be a link
	if err == nil {
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if mode := info.Mode().Perm(); mode&0o077 != 0 {
				if err := os.Chmod(path, mode&^0o077); err != nil {
					return err
				}
				changed++
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("making data directory %s private (mode 0700, files 0600): %w", dir, err)
	}
	if changed > 0 && log != nil {
		log.Warn("data directory was readable by other users; group and other permissions removed", "data_dir", dir, "entries", changed)
	}
	return nil
}
