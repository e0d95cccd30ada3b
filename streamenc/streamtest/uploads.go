package streamtest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

const uploadsPrefix = "/uploads/"

type upload struct {
	id          string
	cid         string
	kind        string // "file" or "image"
	name        string
	contentType string
	data        []byte
	userID      string
	url         string
	createdAt   time.Time
	seq         int64
}

var errUploadTooBig = errors.New("streamtest: upload too big")

// cappedReader fails with errUploadTooBig once more than n bytes were read.
type cappedReader struct {
	r io.Reader
	n int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.n < 0 {
		return 0, errUploadTooBig
	}
	if int64(len(p)) > c.n+1 {
		p = p[:c.n+1]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return n, errUploadTooBig
	}
	return n, err
}

// POST /channels/{type}/{id}/file and /image: multipart with a "user" part
// (JSON) and a "file" part.
func (s *Server) uploadFile(c *reqCtx) (int, map[string]any, *apiError) {
	kind := c.route.segs[len(c.route.segs)-1]
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return 0, nil, c.inputErr("the request must be multipart/form-data with a file part")
	}
	// The whole body may exceed the file limit only by a little (headers,
	// the user part).
	body := &cappedReader{r: c.r.Body, n: s.cfg.MaxUploadBytes + 1<<20}
	mr := multipart.NewReader(body, params["boundary"])
	var userPart []byte
	var fileName, partType string
	var data []byte
	gotFile := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errUploadTooBig) {
				return 0, nil, c.tooBig("file is too large, max is %d bytes", s.cfg.MaxUploadBytes)
			}
			return 0, nil, c.inputErr("malformed multipart body")
		}
		switch p.FormName() {
		case "user":
			userPart, err = io.ReadAll(io.LimitReader(p, 64<<10))
		case "file":
			if gotFile {
				return 0, nil, c.inputErr("only one file part is allowed")
			}
			gotFile = true
			fileName = p.FileName()
			partType = p.Header.Get("Content-Type")
			data, err = io.ReadAll(&cappedReader{r: p, n: s.cfg.MaxUploadBytes})
		default:
			_, err = io.Copy(io.Discard, p)
		}
		if err != nil {
			if errors.Is(err, errUploadTooBig) {
				return 0, nil, c.tooBig("file is too large, max is %d bytes", s.cfg.MaxUploadBytes)
			}
			return 0, nil, c.inputErr("malformed multipart body")
		}
	}
	if !gotFile {
		return 0, nil, c.inputErr("file is a required field")
	}
	if fileName == "" {
		return 0, nil, c.inputErr("the file part must have a file name")
	}
	uid := ""
	if len(userPart) > 0 {
		uo, ok := parseObject(userPart)
		if !ok {
			return 0, nil, c.inputErr("user must be a JSON object")
		}
		var aerr *apiError
		if uid, aerr = c.str(uo, "id"); aerr != nil {
			return 0, nil, aerr
		}
	}
	if !c.auth.server {
		if uid != "" && uid != c.auth.userID {
			return 0, nil, c.forbidden("user %s does not match the user of the token", uid)
		}
		uid = c.auth.userID
	}
	if uid == "" {
		return 0, nil, c.inputErr("user is a required field when using server side auth")
	}
	ctype := partType
	if ctype == "" || ctype == "application/octet-stream" {
		ctype = mime.TypeByExtension(strings.ToLower(path.Ext(fileName)))
	}
	sniffed := http.DetectContentType(data)
	if ctype == "" {
		ctype = sniffed
	}
	if kind == "image" {
		if !strings.HasPrefix(sniffed, "image/") {
			return 0, nil, c.inputErr("%s is not an image: upload it with the file endpoint", fileName)
		}
		ctype = sniffed
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannelFor(c.requireMember, "UploadAttachment")
	if aerr != nil {
		return 0, nil, aerr
	}
	if aerr := c.missingUsers(uid); aerr != nil {
		return 0, nil, aerr
	}
	if aerr := c.checkUploadConfig(kind, fileName, ctype); aerr != nil {
		return 0, nil, aerr
	}
	id := randomUUID()
	u := &upload{id: id, cid: ch.cid, kind: kind, name: fileName, contentType: ctype, data: data,
		userID: uid, url: s.URL + uploadsPrefix + id + "/" + url.PathEscape(fileName),
		createdAt: c.now, seq: s.nextSeq()}
	s.st.uploads[id] = u
	resp := map[string]any{"file": u.url}
	if kind == "image" {
		resp["thumb_url"] = u.url
	}
	return http.StatusCreated, resp, nil
}

// checkUploadConfig applies the app's allowed/blocked extension and MIME
// type lists (file_upload_config, image_upload_config).
func (c *reqCtx) checkUploadConfig(kind, name, ctype string) *apiError {
	cfg := c.s.st.app.fileUpload
	if kind == "image" {
		cfg = c.s.st.app.imageUpload
	}
	ext := strings.ToLower(path.Ext(name))
	base, _, _ := mime.ParseMediaType(ctype)
	in := func(list []string, v string) bool {
		return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
	}
	if (len(cfg.AllowedFileExtensions) > 0 && !in(cfg.AllowedFileExtensions, ext)) || in(cfg.BlockedFileExtensions, ext) {
		return c.inputErr("file extension %s is not allowed", ext)
	}
	if (len(cfg.AllowedMimeTypes) > 0 && !in(cfg.AllowedMimeTypes, base)) || in(cfg.BlockedMimeTypes, base) {
		return c.inputErr("file type %s is not allowed", base)
	}
	return nil
}

// DELETE /channels/{type}/{id}/file?url= (and /image). Deleting a URL that
// is not (or no longer) stored succeeds.
func (s *Server) deleteFile(c *reqCtx) (int, map[string]any, *apiError) {
	u := c.query.Get("url")
	if u == "" {
		return 0, nil, c.inputErr("url is a required field")
	}
	kind := c.route.segs[len(c.route.segs)-1]
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := c.lookupChannelFor(c.requireMember, "DeleteAttachment")
	if aerr != nil {
		return 0, nil, aerr
	}
	for id, up := range s.st.uploads {
		if up.url != u || up.cid != ch.cid || up.kind != kind {
			continue
		}
		if up.userID != c.auth.userID {
			if aerr := c.requireModerator(ch, "DeleteAttachment"); aerr != nil {
				return 0, nil, aerr
			}
		}
		delete(s.st.uploads, id)
	}
	return http.StatusOK, map[string]any{}, nil
}

// serveUpload answers GET /uploads/{id}/{name}: the uploaded bytes, with no
// authentication (as Stream's CDN serves its signed URLs).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, uploadsPrefix)
	id, _, _ := strings.Cut(rest, "/")
	s.mu.Lock()
	u, ok := s.st.uploads[id]
	var data []byte
	var ctype, name string
	var mod time.Time
	if ok {
		data, ctype, name, mod = u.data, u.contentType, u.name, u.createdAt
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "streamtest: no such upload", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", ctype)
	http.ServeContent(w, r, name, mod, bytes.NewReader(data))
}
