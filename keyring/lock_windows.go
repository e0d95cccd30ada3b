//go:build windows

package keyring

import (
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

// osLock is a LockFileEx lock on the first byte of dir\.lock. Windows
// releases it when the handle is closed or the process dies.
type osLock struct{ f *os.File }

// kernel32.dll is a KnownDLL: Windows always loads it from the system
// directory, so loading it by name is not subject to DLL preloading.
var (
	kernel32         = syscall.NewLazyDLL("kernel32.dll")
	procLockFileEx   = kernel32.NewProc("LockFileEx")
	procUnlockFileEx = kernel32.NewProc("UnlockFileEx")
)

const (
	lockfileFailImmediately = 0x1
	lockfileExclusiveLock   = 0x2
	errorLockViolation      = syscall.Errno(33)
	errorIOPending          = syscall.Errno(997)
)

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
	flags := uintptr(lockfileFailImmediately)
	if exclusive {
		flags |= lockfileExclusiveLock
	}
	var ol syscall.Overlapped
	r, _, err := procLockFileEx.Call(l.f.Fd(), flags, 0, 1, 0, uintptr(unsafe.Pointer(&ol)))
	if r != 0 {
		return true, nil
	}
	if err == errorLockViolation || err == errorIOPending {
		return false, nil
	}
	return false, &os.PathError{Op: "LockFileEx", Path: l.f.Name(), Err: err}
}

func (l *osLock) unlock() {
	var ol syscall.Overlapped
	procUnlockFileEx.Call(l.f.Fd(), 0, 1, 0, uintptr(unsafe.Pointer(&ol)))
	l.f.Close()
}

func (l *osLock) close() { l.f.Close() }
