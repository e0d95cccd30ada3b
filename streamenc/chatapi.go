package streamenc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"

	stream "github.com/GetStream/stream-chat-go/v6"
)

// chatAPI is everything streamenc asks of Stream for one channel: the seam
// between the sealing logic and stream-chat-go. streamChannel implements it
// over stream-chat-go v6.10.0; moving to another Stream SDK means another
// implementation of this interface (and conversions of its message type),
// nothing else. Messages cross it as stream-chat-go v6 values because
// they are also what callers hand in and get back (Message.Raw).
type chatAPI interface {
	cid() string
	// maxTextLength is the channel type's max_message_length, 0 when
	// unknown.
	maxTextLength() int
	sendMessage(ctx context.Context, m *stream.Message, userID string) (*stream.Message, error)
	getMessages(ctx context.Context, ids []string) ([]*stream.Message, error)
	queryMessages(ctx context.Context, q *stream.QueryRequest) ([]*stream.Message, error)
	replies(ctx context.Context, parentID string, page *stream.PaginationParamsRequest) ([]*stream.Message, error)
	// members returns up to limit members starting at offset, in a
	// stable order.
	members(ctx context.Context, offset, limit int) ([]*stream.ChannelMember, error)
	sendFile(ctx context.Context, name string, r io.Reader, userID string) (string, error)
	deleteFile(ctx context.Context, location string) error
	partialUpdateMessage(ctx context.Context, id string, set map[string]any, unset []string, userID string) (*stream.Message, error)
	deleteMessage(ctx context.Context, id string, hard bool) error
	search(ctx context.Context, req stream.SearchRequest) ([]*stream.Message, error)
	// channelData returns the channel's custom data as Stream holds it
	// now.
	channelData(ctx context.Context) (map[string]any, error)
	// setChannelData sets custom fields of the channel (a partial update
	// that keeps the others).
	setChannelData(ctx context.Context, set map[string]any) error
}

// streamChannel is chatAPI over stream-chat-go v6.10.0. It keeps its own
// copy of the stream.Channel: Channel.Query overwrites the struct it is
// called on, so sharing the caller's would race.
type streamChannel struct {
	ch     stream.Channel // a copy; never written after construction
	client *stream.Client // nil: no message-level calls
}

var _ chatAPI = (*streamChannel)(nil)

func (s *streamChannel) cid() string {
	if s.ch.CID != "" {
		return s.ch.CID
	}
	return s.ch.Type + ":" + s.ch.ID
}

func (s *streamChannel) maxTextLength() int { return s.ch.Config.MaxMessageLength }

// handle returns a fresh copy of the channel to call a method on.
func (s *streamChannel) handle() *stream.Channel {
	cp := s.ch
	return &cp
}

func (s *streamChannel) sendMessage(ctx context.Context, m *stream.Message, userID string) (*stream.Message, error) {
	resp, err := s.handle().SendMessage(ctx, m, userID)
	if err != nil {
		return nil, err
	}
	if resp.Message == nil {
		return nil, errors.New("streamenc: Stream answered the send without the message")
	}
	return resp.Message, nil
}

func (s *streamChannel) getMessages(ctx context.Context, ids []string) ([]*stream.Message, error) {
	resp, err := s.handle().GetMessages(ctx, ids)
	if err != nil {
		return nil, err
	}
	return resp.Messages, nil
}

func (s *streamChannel) queryMessages(ctx context.Context, q *stream.QueryRequest) ([]*stream.Message, error) {
	resp, err := s.handle().Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return resp.Messages, nil
}

func (s *streamChannel) replies(ctx context.Context, parentID string, page *stream.PaginationParamsRequest) ([]*stream.Message, error) {
	q := map[string][]string{}
	if page != nil {
		set := func(k, v string) {
			if v != "" {
				q[k] = []string{v}
			}
		}
		if page.Limit > 0 {
			set("limit", strconv.Itoa(page.Limit))
		}
		if page.Offset > 0 {
			set("offset", strconv.Itoa(page.Offset))
		}
		set("id_gte", page.IDGTE)
		set("id_gt", page.IDGT)
		set("id_lte", page.IDLTE)
		set("id_lt", page.IDLT)
	}
	resp, err := s.handle().GetReplies(ctx, parentID, q)
	if err != nil {
		return nil, err
	}
	return resp.Messages, nil
}

func (s *streamChannel) members(ctx context.Context, offset, limit int) ([]*stream.ChannelMember, error) {
	resp, err := s.handle().QueryMembers(ctx, &stream.QueryOption{
		Filter: map[string]any{},
		Limit:  limit,
		Offset: offset,
	}, &stream.SortOption{Field: "created_at", Direction: 1})
	if err != nil {
		return nil, err
	}
	return resp.Members, nil
}

func (s *streamChannel) sendFile(ctx context.Context, name string, r io.Reader, userID string) (string, error) {
	resp, err := s.handle().SendFile(ctx, stream.SendFileRequest{Reader: r, FileName: name, User: &stream.User{ID: userID}})
	if err != nil {
		return "", err
	}
	if resp.File == "" {
		return "", errors.New("streamenc: Stream answered the upload without a URL")
	}
	return resp.File, nil
}

func (s *streamChannel) deleteFile(ctx context.Context, location string) error {
	_, err := s.handle().DeleteFile(ctx, location)
	return err
}

func (s *streamChannel) partialUpdateMessage(ctx context.Context, id string, set map[string]any, unset []string, userID string) (*stream.Message, error) {
	if s.client == nil {
		return nil, ErrNoStreamClient
	}
	resp, err := s.client.PartialUpdateMessage(ctx, id, &stream.MessagePartialUpdateRequest{
		PartialUpdate: stream.PartialUpdate{Set: set, Unset: unset},
		UserID:        userID,
	})
	if err != nil {
		return nil, err
	}
	if resp.Message == nil {
		return nil, errors.New("streamenc: Stream answered the update without the message")
	}
	return resp.Message, nil
}

func (s *streamChannel) deleteMessage(ctx context.Context, id string, hard bool) error {
	if s.client == nil {
		return ErrNoStreamClient
	}
	var err error
	if hard {
		_, err = s.client.HardDeleteMessage(ctx, id)
	} else {
		_, err = s.client.DeleteMessage(ctx, id)
	}
	return err
}

func (s *streamChannel) search(ctx context.Context, req stream.SearchRequest) ([]*stream.Message, error) {
	if s.client == nil {
		return nil, ErrNoStreamClient
	}
	resp, err := s.client.Search(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Messages, nil
}

func (s *streamChannel) channelData(ctx context.Context) (map[string]any, error) {
	// A channel query with the smallest state Stream gives: the channel
	// object is what is wanted.
	resp, err := s.handle().Query(ctx, &stream.QueryRequest{
		State:    true,
		Messages: &stream.MessagePaginationParamsRequest{PaginationParamsRequest: stream.PaginationParamsRequest{Limit: 1}},
		Members:  &stream.PaginationParamsRequest{Limit: 1},
	})
	if err != nil {
		return nil, err
	}
	if resp.Channel == nil {
		return nil, errors.New("streamenc: Stream answered the channel query without the channel")
	}
	return resp.Channel.ExtraData, nil
}

func (s *streamChannel) setChannelData(ctx context.Context, set map[string]any) error {
	_, err := s.handle().PartialUpdate(ctx, stream.PartialUpdate{Set: set})
	return err
}

// streamError wraps an error from Stream with the operation, keeping it
// matchable (errors.As with stream.Error).
func streamError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNoStreamClient) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("streamenc: %s: %w", op, err)
	}
	var se stream.Error
	if errors.As(err, &se) {
		return fmt.Errorf("streamenc: %s: Stream answered %d (code %d): %w", op, se.StatusCode, se.Code, err)
	}
	return fmt.Errorf("streamenc: %s: %w", op, err)
}

// attachmentURL parses and checks a download location.
func attachmentURL(raw string, check func(*url.URL) error) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: attachment location is not an http(s) URL", ErrMalformed)
	}
	if check != nil {
		if err := check(u); err != nil {
			return nil, fmt.Errorf("streamenc: attachment location refused: %w", err)
		}
	}
	return u, nil
}
