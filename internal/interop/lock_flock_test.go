//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package interop

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock on path without blocking. The kernel
// releases it if the process dies, so a crashed go test never leaves it held.
func tryLock(path string) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, true, nil
}
