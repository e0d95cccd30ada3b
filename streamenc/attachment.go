package streamenc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"

	stream "github.com/GetStream/stream-chat-go/v6"

	"github.com/e3go/e3go/e3"
)

// File is a file to send sealed with a message (see Channel.SendMessage).
// Its content is signed and encrypted as it streams (e3kit's
// authEncryptFile format) and uploaded through Stream's file upload; its
// name and MIME type travel only inside the message's sealed payload.
type File struct {
	// Name is the file name the recipients see (sealed).
	Name string
	// MIMEType is the content type the recipients see (sealed); ""
	// means application/octet-stream.
	MIMEType string
	// Size is the exact number of bytes Body yields: the format states it
	// up front. A Body that ends early or runs longer fails the send.
	Size int64
	// Body is the content, read once.
	Body io.Reader
}

// uploadName is the file name Stream sees for every sealed upload.
const uploadName = "e3go.sealed"

// ErrAttachmentTooLarge reports an attachment over the size limit
// (ChannelOptions.MaxAttachmentBytes) when sending or downloading.
var ErrAttachmentTooLarge = errors.New("streamenc: attachment too large")

// Attachment is a sealed attachment of an opened Message.
type Attachment struct {
	// Name and MIMEType are what the sender gave (verified).
	Name     string
	MIMEType string
	// Size is the plaintext size in bytes (verified).
	Size int64
	// URL is where Stream keeps the ciphertext (Stream-provided, not
	// verified; the content is).
	URL string
	// Raw is the attachment as Stream returned it.
	Raw *stream.Attachment

	sha    [32]byte // SHA-256 of the uploaded ciphertext, from the sealed payload
	sender *e3.Card // the key that signed the message
	key    *fileKey // the file's own key (group channels), nil when sealed per recipient
	// open is the opener's download method (a func, so that no key type
	// is reachable from a Message).
	open func(ctx context.Context, a *Attachment) (io.ReadCloser, error)
}

// Open downloads the attachment (an HTTP GET of URL with the Channel's or
// WebhookHandler's HTTP client, under ctx) and returns a reader of its
// plaintext. The ciphertext is verified as it streams: the reader returns
// io.EOF only after the whole file authenticated, its signature verified
// against the message's sender and its digest matched the one sealed in
// the message; any other error means everything read so far must be
// discarded (write to a temporary file and keep it only on io.EOF). The
// caller must Close the reader. Downloads larger than the configured limit
// fail with ErrAttachmentTooLarge.
func (a *Attachment) Open(ctx context.Context) (io.ReadCloser, error) {
	if a == nil || a.open == nil {
		return nil, errors.New("streamenc: Open on an attachment that did not come from an opened message")
	}
	return a.open(ctx, a)
}

// openAttachment is Attachment.Open.
func (o *opener) openAttachment(ctx context.Context, a *Attachment) (io.ReadCloser, error) {
	if a.Size > o.maxAttachment {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrAttachmentTooLarge, a.Size, o.maxAttachment)
	}
	u, err := attachmentURL(a.URL, o.checkURL)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("streamenc: attachment download: %w", err)
	}
	resp, err := o.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("streamenc: attachment download: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("streamenc: attachment download: HTTP status %d", resp.StatusCode)
	}
	// The ciphertext is the plaintext plus the message info (254 bytes per
	// recipient), up to 160 bytes of padding, the tag and the footer.
	bound := a.Size + sealOverheadBound
	if resp.ContentLength > bound {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: the download is %d bytes, more than the %d its sealed size allows", ErrTampered, resp.ContentLength, bound)
	}
	h := sha256.New()
	src := &boundedReader{r: resp.Body, left: bound, h: h}
	var dr io.Reader
	if a.key != nil {
		// A group channel's file: encrypted for its own key, which came in
		// the signed payload with the ciphertext's digest (checked at the
		// end), so the digest authenticates it.
		k, kerr := e3.ParsePrivateKey(a.key.der)
		if kerr != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: the attachment's key is not a private key", ErrMalformed)
		}
		dr, err = e3.DecryptStream(src, k)
	} else {
		dr, err = o.client.AuthDecryptStream(src, a.sender)
	}
	if err != nil {
		resp.Body.Close()
		return nil, mapCryptoErr(err)
	}
	return &attachmentReader{a: a, body: resp.Body, src: src, dr: dr, h: h}, nil
}

// sealOverheadBound bounds what sealing adds to a file: message info for
// up to 1000 recipients, padding, tag and footer.
const sealOverheadBound = 1000*260 + 4096

// boundedReader reads at most left bytes, hashing them; more is an error.
type boundedReader struct {
	r    io.Reader
	left int64
	h    hash.Hash
	over bool
}

var errDownloadTooLong = fmt.Errorf("%w: the download is longer than its sealed size allows", ErrTampered)

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.over {
		return 0, errDownloadTooLong
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if int64(n) > b.left {
		b.over = true
		n = int(b.left)
		b.left = 0
		b.h.Write(p[:n])
		return n, errDownloadTooLong
	}
	b.left -= int64(n)
	b.h.Write(p[:n])
	return n, err
}

// attachmentReader checks the digest and the size at the end.
type attachmentReader struct {
	a    *Attachment
	body io.ReadCloser
	src  *boundedReader
	dr   io.Reader
	h    hash.Hash
	n    int64
	err  error
}

func (r *attachmentReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.dr.Read(p)
	r.n += int64(n)
	if r.n > r.a.Size {
		r.err = fmt.Errorf("%w: the attachment is longer than its sealed size", ErrTampered)
		return 0, r.err
	}
	switch {
	case err == io.EOF:
		// Whatever follows the ciphertext counts in the digest too.
		if _, derr := io.Copy(io.Discard, r.src); derr != nil {
			r.err = derr
			return 0, r.err
		}
		if subtle.ConstantTimeCompare(r.h.Sum(nil), r.a.sha[:]) != 1 {
			r.err = fmt.Errorf("%w: the attachment is not the one sealed in the message", ErrTampered)
			return 0, r.err
		}
		if r.n != r.a.Size {
			r.err = fmt.Errorf("%w: the attachment is shorter than its sealed size", ErrTampered)
			return 0, r.err
		}
		r.err = io.EOF
		return n, io.EOF
	case err != nil:
		r.err = mapCryptoErr(err)
		return 0, r.err
	}
	return n, nil
}

func (r *attachmentReader) Close() error { return r.body.Close() }

// upload seals f for cards and uploads it as userID, returning its URL and
// sealed description.
func (c *Channel) upload(ctx context.Context, f File, cards []*e3.Card, userID string) (string, envAttachment, error) {
	return c.uploadWith(ctx, f, userID, func(w io.Writer) (io.WriteCloser, error) {
		return c.client.AuthEncryptStream(w, f.Size, cards...)
	})
}

// uploadWith encrypts f with the writer enc makes and uploads it as
// userID, returning its URL and sealed description (without a key).
func (c *Channel) uploadWith(ctx context.Context, f File, userID string, enc func(io.Writer) (io.WriteCloser, error)) (string, envAttachment, error) {
	if f.Body == nil || f.Size < 0 {
		return "", envAttachment{}, errors.New("streamenc: a File needs a Body and its exact Size")
	}
	if f.Size > c.o.maxAttachment {
		return "", envAttachment{}, fmt.Errorf("%w: %d bytes, the limit is %d", ErrAttachmentTooLarge, f.Size, c.o.maxAttachment)
	}
	if len(f.Name) > maxNameBytes || len(f.MIMEType) > maxMIMEBytes {
		return "", envAttachment{}, errors.New("streamenc: File name or MIME type too long")
	}
	mime := f.MIMEType
	if mime == "" {
		mime = "application/octet-stream"
	}
	pr, pw := io.Pipe()
	h := sha256.New()
	done := make(chan error, 1)
	go func() {
		err := func() error {
			w, err := enc(io.MultiWriter(pw, h))
			if err != nil {
				return err
			}
			n, err := io.Copy(w, io.LimitReader(f.Body, f.Size+1))
			if err != nil {
				return fmt.Errorf("streamenc: reading the file: %w", err)
			}
			if n != f.Size {
				return fmt.Errorf("streamenc: the file has %d bytes, not the %d its Size says", n, f.Size)
			}
			return w.Close()
		}()
		pw.CloseWithError(err)
		done <- err
	}()
	loc, err := c.api.sendFile(ctx, uploadName, pr, userID)
	pr.Close()
	encErr := <-done
	if encErr != nil {
		if loc != "" {
			c.api.deleteFile(context.WithoutCancel(ctx), loc)
		}
		return "", envAttachment{}, encErr
	}
	if err != nil {
		return "", envAttachment{}, streamError("uploading a sealed file", err)
	}
	return loc, envAttachment{Name: f.Name, Type: mime, Size: f.Size, SHA256: fmt.Sprintf("%x", h.Sum(nil))}, nil
}
