//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package interop

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// staleLock is the age after which an exclusive-create lock file is taken to
// be left over by a crashed process (longer than any npm ci run).
const staleLock = npmTimeout + time.Minute

// tryLock creates path exclusively; the lock is the file's existence.
func tryLock(path string) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if fi, serr := os.Stat(path); serr == nil && time.Since(fi.ModTime()) > staleLock {
			_ = os.Remove(path)
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	f.Close()
	return func() { _ = os.Remove(path) }, true, nil
}
