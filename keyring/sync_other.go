//go:build !unix

package keyring

// syncDir is a no-op where the standard library cannot sync a directory
// (Windows, js/wasm, wasip1, plan9). The rename is still atomic there, so a
// crash leaves either the old or the new file, but a rename made just before
// a power loss may be undone by the file system.
func syncDir(string) error { return nil }
