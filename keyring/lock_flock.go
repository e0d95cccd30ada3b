//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package keyring

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// osLock is a flock(2) lock on dir/.lock. flock locks belong to the open
// file description, so two stores in one process exclude each other just
// as two processes do, and the kernel releases the lock if the process dies.
type osLock struct{ f *os.File }

// sharedLocks reports whether readers can hold the lock together.
const sharedLocks = true

func openLock(dir string) (*osLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &osLock{f: f}, nil
}

func (l *osLock) try(exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	err := syscall.Flock(int(l.f.Fd()), how|syscall.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
		return false, nil
	}
	return false, &os.PathError{Op: "flock", Path: l.f.Name(), Err: err}
}

func (l *osLock) unlock() {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

func (l *osLock) close() { l.f.Close() }
