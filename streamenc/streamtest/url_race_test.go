//go:build linux

package streamtest_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/streamenc/streamtest"
)

// TestUploadRightAfterNewServerFromUnorderedClient uploads a file as the
// first thing after NewServer, from a client with no happens-before edge to
// the constructor, as a client in another process has none: the upload
// handler reads Server.URL to build the file's URL, so under -race this
// catches a URL written after the server started serving.
//
// In-process requests cannot show it: syscall.Read and syscall.Write are
// synchronisation points for the race detector, so a request sent through
// net after NewServer orders the constructor's writes before the handler.
// Here the client goroutine starts before NewServer and learns the address
// through a pipe read and written with bare system calls, which the race
// detector does not see.
func TestUploadRightAfterNewServerFromUnorderedClient(t *testing.T) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])

	type result struct {
		url string
		err error
	}
	done := make(chan result, 1)
	go func() {
		buf := make([]byte, 512)
		n, _, errno := syscall.Syscall(syscall.SYS_READ, uintptr(p[0]), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if errno != 0 {
			done <- result{err: errno}
			return
		}
		url, err := uploadOnce(string(buf[:n]))
		done <- result{url, err}
	}()

	srv := streamtest.NewServer()
	defer srv.Close()
	msg := []byte(srv.URL + " " + srv.APIKey + " " + srv.APISecret)
	if _, _, errno := syscall.Syscall(syscall.SYS_WRITE, uintptr(p[1]), uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg))); errno != 0 {
		t.Fatal(errno)
	}
	// No timer here: the first use of a runtime setting can order this
	// goroutine before the server's (the client has its own timeout).
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	ups := srv.Uploads()
	if len(ups) != 1 || ups[0].URL != r.url || !strings.HasPrefix(r.url, srv.URL+"/") {
		t.Fatalf("uploaded %q; server has %d uploads; want one under %s", r.url, len(ups), srv.URL)
	}
}

// uploadOnce creates a user and a channel and uploads a file on the
// server named by "URL key secret", returning the file's URL.
func uploadOnce(server string) (string, error) {
	f := strings.Fields(server)
	if len(f) != 3 {
		return "", fmt.Errorf("bad server description %q", server)
	}
	c, err := stream.NewClient(f[1], f[2])
	if err != nil {
		return "", err
	}
	c.BaseURL = f[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.UpsertUser(ctx, &stream.User{ID: "alice"}); err != nil {
		return "", err
	}
	resp, err := c.CreateChannel(ctx, "messaging", "general", "alice", &stream.ChannelRequest{Members: []string{"alice"}})
	if err != nil {
		return "", err
	}
	up, err := resp.Channel.SendFile(ctx, stream.SendFileRequest{
		Reader: strings.NewReader("hello"), FileName: "a.txt", User: &stream.User{ID: "alice"}})
	if err != nil {
		return "", err
	}
	return up.File, nil
}
