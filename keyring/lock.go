package keyring

import (
	"context"
	"fmt"
	"time"
)

// lockName is the file, inside the keyring directory, that processes lock
// to coordinate access (see lock_flock.go, lock_windows.go, lock_other.go).
const lockName = ".lock"

// acquire takes the keyring's cross-process lock, shared for readers and
// exclusive for writers, polling until it is free or ctx is done. The
// returned function releases it.
func acquire(ctx context.Context, dir string, exclusive bool) (release func(), err error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	l, err := openLock(dir)
	if err != nil {
		return nil, fmt.Errorf("keyring: lock %s: %w", dir, err)
	}
	delay := 500 * time.Microsecond
	for {
		ok, err := l.try(exclusive)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("keyring: lock %s: %w", dir, err)
		}
		if ok {
			return l.unlock, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			l.close()
			return nil, ctxErr(ctx)
		case <-t.C:
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}
