package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// LiveSession is an open live caption session (GET /v1/live).
type LiveSession struct {
	c    *websocket.Conn
	msgs chan types.LiveMessage
	done chan struct{}
	err  error
	// Close is the server's close code and reason, known once Messages
	// is closed.
	CloseCode   int
	CloseReason string
}

// LiveError is a session the server closed with a code other than a
// normal closure.
type LiveError struct {
	Code   int
	Reason string
}

func (e *LiveError) Error() string {
	return fmt.Sprintf("live session closed (%d): %s", e.Code, e.Reason)
}

// Live opens a live caption session and sends the start message.
func (c *Client) Live(ctx context.Context, start types.LiveStart) (*LiveSession, error) {
	u := c.url("/v1/live", nil)
	u = "ws" + strings.TrimPrefix(u, "http")
	h := http.Header{}
	if c.APIKey != "" {
		h.Set("Authorization", "Bearer "+c.APIKey)
	}
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h, HTTPClient: c.HTTP})
	if err != nil {
		if resp != nil && resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusSwitchingProtocols {
			var p types.Problem
			if resp.Body != nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				if json.Unmarshal(b, &p) == nil && p.Code != "" {
					return nil, &errcode.Error{Code: errcode.Code(p.Code), Message: p.Detail}
				}
			}
			return nil, fmt.Errorf("GET /v1/live: HTTP %d", resp.StatusCode)
		}
		return nil, errcode.Wrap(errcode.Unavailable, err, "landfall server %s", c.BaseURL)
	}
	conn.SetReadLimit(16 << 20)
	start.Type = "start"
	b, _ := json.Marshal(start)
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		conn.CloseNow()
		return nil, err
	}
	s := &LiveSession{c: conn, msgs: make(chan types.LiveMessage, 64), done: make(chan struct{})}
	go s.read()
	return s, nil
}

func (s *LiveSession) read() {
	defer close(s.msgs)
	defer close(s.done)
	for {
		_, b, err := s.c.Read(context.Background())
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				s.CloseCode, s.CloseReason = int(ce.Code), ce.Reason
				if ce.Code != websocket.StatusNormalClosure {
					s.err = &LiveError{Code: int(ce.Code), Reason: ce.Reason}
				}
			} else {
				s.err = err
			}
			return
		}
		var m types.LiveMessage
		if err := json.Unmarshal(b, &m); err != nil {
			s.err = fmt.Errorf("live session: bad message from the server: %w", err)
			return
		}
		s.msgs <- m
	}
}

// Messages are the server's messages; the channel is closed when the
// session's connection closes (then Err says why, nil for a normal end).
func (s *LiveSession) Messages() <-chan types.LiveMessage { return s.msgs }

// Err is why the session closed: nil after a normal end.
func (s *LiveSession) Err() error {
	<-s.done
	return s.err
}

// Send sends one binary frame of audio.
func (s *LiveSession) Send(ctx context.Context, audio []byte) error {
	return s.c.Write(ctx, websocket.MessageBinary, audio)
}

// SendText sends a text frame (for tests of bad input).
func (s *LiveSession) SendText(ctx context.Context, text string) error {
	return s.c.Write(ctx, websocket.MessageText, []byte(text))
}

// End asks the server to finish: it sends the last results and "ended",
// then closes the connection.
func (s *LiveSession) End(ctx context.Context) error {
	return s.c.Write(ctx, websocket.MessageText, []byte(`{"type":"end"}`))
}

// Ping waits for the server's answer to a ping, which comes after it has
// read every frame sent before.
func (s *LiveSession) Ping(ctx context.Context) error { return s.c.Ping(ctx) }

// Abort drops the connection without a close handshake.
func (s *LiveSession) Abort() { s.c.CloseNow() }

// StreamAudio sends r's audio in blocks of block bytes. With bytesPerSecond
// > 0 it paces them at that rate (real time for PCM: 32000), else sends as
// fast as the server takes them. sent, when set, is called after each
// block with the audio time sent so far.
func (s *LiveSession) StreamAudio(ctx context.Context, r io.Reader, block int, bytesPerSecond float64, sent func(bytes int64, at time.Time)) error {
	buf := make([]byte, block)
	start := time.Now()
	var total int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if bytesPerSecond > 0 {
				// A block goes when its last sample would have been spoken.
				due := start.Add(time.Duration(float64(total+int64(n)) / bytesPerSecond * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return ctx.Err()
					case <-s.done:
						return s.Err()
					}
				}
			}
			if werr := s.Send(ctx, buf[:n]); werr != nil {
				select {
				case <-s.done:
					if s.err != nil {
						return s.err
					}
				case <-time.After(time.Second):
				}
				return werr
			}
			total += int64(n)
			if sent != nil {
				sent(total, time.Now())
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
