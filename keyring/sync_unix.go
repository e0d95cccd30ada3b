//go:build unix

package keyring

import (
	"errors"
	"os"
	"syscall"
)

// syncDir flushes a directory, making a rename or removal in it durable.
// File systems that cannot sync directories report EINVAL or ENOTSUP;
// there is nothing more to do on those.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}
