package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/ingest/live"
	"github.com/landfall/landfall/types"
)

// Live caption WebSocket close codes beyond RFC 6455's: 1000 normal end,
// 1003 non-audio data, 1007 a bad start message or WAV header (wrong
// sample rate), 1008 a limit (session length, idle client, too slow a
// reader), 1009 a frame too large, 1011 a server failure (the speech
// engine's included), 1013 too many sessions or a throttled engine.
// Each close carries a reason naming what was wrong.
const (
	liveMaxFrame      = 1 << 20          // bytes in one WebSocket message
	liveStartTimeout  = 10 * time.Second // for the start message
	liveWriteTimeout  = 10 * time.Second // for one message to the client
	liveTicketTTL     = time.Minute
	liveCaptionsTTL   = 24 * time.Hour
	liveViewerPage    = "/ui/live-view.html"
	liveCloseReasonMx = 120 // RFC 6455: the reason fits in a 125-byte control frame
)

func (s *Server) liveRoutes(api func(method, pattern string, access Access, h handler)) {
	// The WebSocket upgrade: a tenant key (header), or for browsers, which
	// cannot set headers on a WebSocket, a signed URL from POST
	// /v1/live/tickets.
	s.handle(Route{Method: "GET", Pattern: "/v1/live", Access: AccessTenantWrite, SignedURL: true}, s.errors(s.liveStream))
	api("POST", "/v1/live/tickets", AccessTenantWrite, s.liveTicket)
	api("GET", "/v1/live/sessions", AccessTenantRead, s.liveSessions)
	s.handle(Route{Method: "GET", Pattern: "/v1/live/{id}/captions", Access: AccessTenantRead, SignedURL: true}, s.errors(s.liveCaptions))
}

func (s *Server) liveManager() (*live.Manager, error) {
	if s.cfg.Live == nil {
		return nil, errcode.New(errcode.NotImplemented, "live captions are not served by this server (role or build)")
	}
	return s.cfg.Live, nil
}

// liveTicket signs a short-lived URL of GET /v1/live for a browser.
func (s *Server) liveTicket(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.liveManager(); err != nil {
		return err
	}
	p, _ := identity.FromContext(r.Context())
	if len(s.cfg.Secret) == 0 {
		return errcode.New(errcode.Unavailable, "live tickets need the installation secret")
	}
	u, exp := s.auth.SignURL(p, p.Tenant, "/v1/live", liveTicketTTL)
	writeJSON(w, http.StatusOK, map[string]string{"url": u, "expires": exp.UTC().Format(time.RFC3339)})
	return nil
}

func (s *Server) liveSessions(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveManager()
	if err != nil {
		return err
	}
	tenant, _ := TenantFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"sessions": m.List(tenant)})
	return nil
}

// closeErr is a WebSocket close with its reason.
type closeErr struct {
	code   websocket.StatusCode
	reason string
}

func (e *closeErr) Error() string { return fmt.Sprintf("%d %s", e.code, e.reason) }

// closeOf picks the close code for an error that ends a live session.
func closeOf(err error) *closeErr {
	var ce *closeErr
	if errors.As(err, &ce) {
		return ce
	}
	code := websocket.StatusInternalError
	switch errcode.Of(err) {
	case errcode.Invalid:
		code = websocket.StatusInvalidFramePayloadData
	case errcode.MediaUnsupported, errcode.MediaCorrupt:
		code = websocket.StatusUnsupportedData
	case errcode.TooLarge, errcode.MediaTooLarge, errcode.DeadlineExceeded, errcode.RateLimited:
		code = websocket.StatusPolicyViolation
	case errcode.ToolMissing, errcode.NotImplemented, errcode.Unavailable, errcode.ProviderThrottled:
		code = websocket.StatusTryAgainLater
	}
	msg := errcode.MessageOf(err)
	if msg == "" {
		msg = err.Error()
	}
	return &closeErr{code, msg}
}

func closeConn(c *websocket.Conn, ce *closeErr) {
	reason := ce.reason
	if len(reason) > liveCloseReasonMx {
		reason = reason[:liveCloseReasonMx-3]
		for !utf8Valid(reason) {
			reason = reason[:len(reason)-1]
		}
		reason += "…"
	}
	_ = c.Close(ce.code, reason)
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\x00") == s }

// liveStream serves GET /v1/live: the WebSocket of one live session.
func (s *Server) liveStream(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveManager()
	if err != nil {
		return err
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return errcode.New(errcode.Invalid, "GET /v1/live is a WebSocket: send Upgrade: websocket")
	}
	tenant, _ := TenantFrom(r.Context())
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil // Accept answered the request
	}
	defer c.CloseNow()
	c.SetReadLimit(liveMaxFrame)
	// The session outlives the request's context only to store what
	// arrived; the connection's reads and writes use ctx.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()

	st, err := readStart(ctx, c)
	if err != nil {
		closeConn(c, closeOf(err))
		return nil
	}
	sess, err := m.Start(ctx, tenant, st)
	if err != nil {
		ce := closeOf(err)
		if errcode.Of(err) == errcode.RateLimited {
			ce.code = websocket.StatusTryAgainLater
		}
		closeConn(c, ce)
		return nil
	}
	// Results go to the client through a subscription like any viewer's;
	// the first is "started", completed with the viewer links.
	sub := sess.Subscribe()
	defer sub.Close()
	p, _ := identity.FromContext(r.Context())
	captions := "/v1/live/" + sess.ID() + "/captions"
	viewer := captions
	if len(s.cfg.Secret) > 0 {
		viewer, _ = s.auth.SignURL(p, tenant, captions, liveCaptionsTTL)
	}
	writeDone := make(chan error, 1)
	go func() {
		err := s.liveWrite(ctx, c, sub, func(m *types.LiveMessage) {
			if m.Landfall.Event == "started" {
				m.Landfall.CaptionsURL = viewer
				m.Landfall.ViewerURL = liveViewerPage + "?src=" + url.QueryEscape(viewer)
			}
		})
		if err != nil {
			// A client that does not read its captions: the session ends
			// (and is stored) as the read side sees the close.
			closeConn(c, closeOf(err))
		}
		writeDone <- err
	}()
	reason, cause := s.liveRead(ctx, c, sess)
	end := sess.Finish(reason, cause)
	// The writer sends the rest, "ended" last, then returns.
	werr := <-writeDone
	switch {
	case cause != nil:
		closeConn(c, closeOf(cause))
	case werr != nil:
		closeConn(c, closeOf(werr))
	case reason == live.ReasonDisconnect:
		// Nobody to tell.
	case end != nil && end.Landfall.Reason == live.ReasonLimit && end.Landfall.Error != "":
		closeConn(c, &closeErr{websocket.StatusPolicyViolation, end.Landfall.Error})
	default:
		msg := "session ended"
		if end != nil && end.Landfall.MediaID != "" {
			msg += "; stored as media " + end.Landfall.MediaID
		}
		closeConn(c, &closeErr{websocket.StatusNormalClosure, msg})
	}
	return nil
}

// readStart reads the start message. A client that sends none in time
// is told so in the close reason.
func readStart(ctx context.Context, c *websocket.Conn) (*types.LiveStart, error) {
	late := time.AfterFunc(liveStartTimeout, func() {
		closeConn(c, &closeErr{websocket.StatusPolicyViolation, fmt.Sprintf("no start message within %s", liveStartTimeout)})
	})
	typ, b, err := c.Read(ctx)
	if !late.Stop() {
		return nil, &closeErr{websocket.StatusPolicyViolation, fmt.Sprintf("no start message within %s", liveStartTimeout)}
	}
	if err != nil {
		return nil, &closeErr{websocket.StatusProtocolError, "reading the start message: " + err.Error()}
	}
	if typ != websocket.MessageText {
		return nil, &closeErr{websocket.StatusUnsupportedData, "the first message must be the start message (a JSON text frame), not audio"}
	}
	return live.ParseStart(b)
}

// liveRead feeds the client's frames to the session until it ends, and
// says why. One goroutine reads the connection and hands each message
// over unbuffered, so at most one message waits while the session's
// recogniser is behind (back-pressure reaches the client through TCP).
// Reads take no deadline of their own: the connection library closes
// the connection when a read's context ends, and an idle client must
// first be told that its session ended.
func (s *Server) liveRead(ctx context.Context, c *websocket.Conn, sess *live.Session) (string, error) {
	type msg struct {
		typ websocket.MessageType
		b   []byte
		err error
	}
	in := make(chan msg)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			typ, b, err := c.Read(ctx)
			select {
			case in <- msg{typ, b, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	frames := 0
	idle := s.cfg.Live.IdleTimeout()
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for {
		var m msg
		select {
		case m = <-in:
		case <-timer.C:
			return live.ReasonIdle, &closeErr{websocket.StatusPolicyViolation, fmt.Sprintf("no audio for %s: the session ended and what arrived was kept", idle)}
		case <-sess.Done():
			return live.ReasonLimit, nil
		}
		timer.Reset(idle)
		if err := m.err; err != nil {
			switch {
			case websocket.CloseStatus(err) == websocket.StatusNormalClosure || websocket.CloseStatus(err) == websocket.StatusGoingAway:
				return live.ReasonEnd, nil
			case strings.Contains(err.Error(), "read limited at"):
				return live.ReasonError, &closeErr{websocket.StatusMessageTooBig, fmt.Sprintf("a message over %d bytes: send audio in smaller frames", liveMaxFrame)}
			}
			return live.ReasonDisconnect, nil
		}
		switch m.typ {
		case websocket.MessageBinary:
			frames++
			if err := sess.Write(ctx, m.b); err != nil {
				if errcode.Of(err) == errcode.TooLarge {
					return live.ReasonLimit, err
				}
				return live.ReasonError, err
			}
		case websocket.MessageText:
			var ctl struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(m.b, &ctl) != nil || ctl.Type != "end" {
				return live.ReasonError, &closeErr{websocket.StatusUnsupportedData, fmt.Sprintf("text message after the start: want {\"type\":\"end\"} (audio goes in binary frames; message %d)", frames+2)}
			}
			return live.ReasonEnd, nil
		}
		// The time spent waiting on the recogniser is not the client's.
		timer.Reset(idle)
	}
}

// liveWrite sends a subscription's messages as text frames until its end.
func (s *Server) liveWrite(ctx context.Context, c *websocket.Conn, sub *live.Subscription, edit func(*types.LiveMessage)) error {
	for {
		m, ok, err := sub.Next(ctx)
		if !ok {
			if err != nil {
				return &closeErr{websocket.StatusPolicyViolation, errcode.MessageOf(err)}
			}
			return nil
		}
		if edit != nil {
			edit(&m)
		}
		b, _ := json.Marshal(m)
		wctx, cancel := context.WithTimeout(ctx, liveWriteTimeout)
		err = c.Write(wctx, websocket.MessageText, b)
		cancel()
		if err != nil {
			return err
		}
	}
}

// liveCaptions serves a session's captions to a viewer: a WebSocket when
// the request asks for an upgrade, else Server-Sent Events. A late viewer
// first gets the captions so far.
func (s *Server) liveCaptions(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveManager()
	if err != nil {
		return err
	}
	tenant, _ := TenantFrom(r.Context())
	sess, err := m.Get(tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		// Viewers only read, with a signed URL or a key: any page may
		// embed them.
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return nil
		}
		defer c.CloseNow()
		ctx := c.CloseRead(r.Context())
		sub := sess.Subscribe()
		defer sub.Close()
		if err := s.liveWrite(ctx, c, sub, nil); err != nil {
			closeConn(c, closeOf(err))
			return nil
		}
		_ = c.Close(websocket.StatusNormalClosure, "session ended")
		return nil
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return errcode.New(errcode.NotImplemented, "this connection cannot stream events")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	sub := sess.Subscribe()
	defer sub.Close()
	ctx := r.Context()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	msgs := make(chan types.LiveMessage)
	errc := make(chan error, 1)
	go func() {
		for {
			m, ok, err := sub.Next(ctx)
			if !ok {
				errc <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
	}()
	// A reconnecting EventSource names the last message it had.
	last, _ := strconv.Atoi(r.Header.Get("Last-Event-ID"))
	for {
		select {
		case m := <-msgs:
			if m.Landfall.Seq <= last {
				continue
			}
			b, _ := json.Marshal(m)
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", m.Landfall.Seq, m.Landfall.Event, b)
			fl.Flush()
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case err := <-errc:
			if err != nil && ctx.Err() == nil {
				fmt.Fprintf(w, "event: error\ndata: %q\n\n", errcode.MessageOf(err))
				fl.Flush()
			}
			return nil
		}
	}
}
