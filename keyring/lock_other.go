//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || windows)

package keyring

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// osLock is the fallback for platforms without flock or LockFileEx (js/wasm,
// wasip1, plan9, solaris, aix): the lock is held by whoever creates
// dir/.lock.excl with O_EXCL. Every lock is exclusive. A process that dies
// while holding it leaves the file behind; a lock file older than
// staleLockAge is taken to be such a leftover and removed. Because every
// keyring file is replaced atomically, even a wrongly broken lock cannot
// corrupt a file; at worst two concurrent Saves of one name both succeed.
type osLock struct{ path string }

const staleLockAge = 30 * time.Second

// sharedLocks reports whether readers can hold the lock together.
const sharedLocks = false

func openLock(dir string) (*osLock, error) {
	return &osLock{path: filepath.Join(dir, lockName+".excl")}, nil
}

func (l *osLock) try(bool) (bool, error) {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return true, f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, err
	}
	if fi, err := os.Stat(l.path); err == nil && time.Since(fi.ModTime()) > staleLockAge {
		os.Remove(l.path)
	}
	return false, nil
}

func (l *osLock) unlock() { os.Remove(l.path) }

func (l *osLock) close() {}
