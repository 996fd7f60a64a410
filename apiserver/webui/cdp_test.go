package webui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// browser drives a headless Chromium over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages separated by NUL bytes on file
// descriptors 3 and 4), so the tests need no WebSocket library.
type browser struct {
	t       *testing.T
	cmd     *exec.Cmd
	w       io.WriteCloser
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpReply
	session string
	// exceptions are uncaught JavaScript exceptions and console errors.
	exceptions []string
	stderr     bytes.Buffer
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func browserPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startBrowser starts Chromium with one page attached, or skips the test
// when no Chromium is installed.
func startBrowser(t *testing.T, extra ...string) *browser {
	t.Helper()
	bin := browserPath()
	if bin == "" {
		t.Skip("chromium is not installed: browser tests skipped")
	}
	toChrome, ourEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChrome, chromeOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, w: ourEnd, waiting: map[int]chan cdpReply{}}
	b.cmd = exec.Command(bin, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
		"--user-data-dir="+t.TempDir(), "--window-size=1280,900")
	b.cmd.Args = append(append(b.cmd.Args, extra...), "about:blank")
	b.cmd.ExtraFiles = []*os.File{toChrome, chromeOut}
	b.cmd.Stderr = &b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	toChrome.Close()
	chromeOut.Close()
	go b.read(fromChrome)
	t.Cleanup(func() {
		ourEnd.Close()
		done := make(chan struct{})
		go func() { _ = b.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = b.cmd.Process.Kill()
			<-done
		}
	})

	var targets struct {
		TargetInfos []struct {
			TargetID string `json:"targetId"`
			Type     string `json:"type"`
		} `json:"targetInfos"`
	}
	b.call("", "Target.getTargets", nil, &targets)
	var target string
	for _, ti := range targets.TargetInfos {
		if ti.Type == "page" {
			target = ti.TargetID
		}
	}
	if target == "" {
		var created struct {
			TargetID string `json:"targetId"`
		}
		b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &created)
		target = created.TargetID
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target, "flatten": true}, &att)
	b.session = att.SessionID
	b.do("Page.enable", nil, nil)
	b.do("Runtime.enable", nil, nil)
	return b
}

func (b *browser) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			for id, ch := range b.waiting {
				close(ch)
				delete(b.waiting, id)
			}
			b.mu.Unlock()
			return
		}
		msg = msg[:len(msg)-1]
		var m struct {
			ID     int             `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			cdpReply
		}
		if json.Unmarshal(msg, &m) != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.waiting[m.ID]
			delete(b.waiting, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m.cdpReply
			}
			continue
		}
		switch m.Method {
		case "Runtime.exceptionThrown":
			var p struct {
				ExceptionDetails struct {
					Text      string `json:"text"`
					URL       string `json:"url"`
					Line      int    `json:"lineNumber"`
					Exception struct {
						Description string `json:"description"`
					} `json:"exception"`
				} `json:"exceptionDetails"`
			}
			_ = json.Unmarshal(m.Params, &p)
			d := p.ExceptionDetails
			b.mu.Lock()
			b.exceptions = append(b.exceptions, fmt.Sprintf("%s %s:%d %s", d.Text, d.URL, d.Line+1, d.Exception.Description))
			b.mu.Unlock()
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string `json:"type"`
				Args []struct {
					Value       any    `json:"value"`
					Description string `json:"description"`
				} `json:"args"`
			}
			_ = json.Unmarshal(m.Params, &p)
			if p.Type == "error" {
				var parts []string
				for _, a := range p.Args {
					parts = append(parts, fmt.Sprint(a.Value, a.Description))
				}
				b.mu.Lock()
				b.exceptions = append(b.exceptions, "console.error: "+strings.Join(parts, " "))
				b.mu.Unlock()
			}
		}
	}
}

// call sends one command (to the browser when session is "", else to the
// page) and decodes its result into out.
func (b *browser) call(session, method string, params any, out any) {
	b.t.Helper()
	if err := b.tryCall(session, method, params, out); err != nil {
		b.t.Fatalf("%s: %v\nchromium stderr:\n%s", method, err, b.stderr.String())
	}
}

func (b *browser) tryCall(session, method string, params any, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpReply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.w.Write(append(data, 0)); err != nil {
		return err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return fmt.Errorf("browser exited")
		}
		if r.Error != nil {
			return fmt.Errorf("%s (code %d)", r.Error.Message, r.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("no reply in 30s")
	}
}

func (b *browser) do(method string, params any, out any) {
	b.t.Helper()
	b.call(b.session, method, params, out)
}

// eval evaluates a JavaScript expression in the page (awaiting a promise)
// and decodes its value into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	if err := b.tryEval(expr, out); err != nil {
		b.t.Fatalf("eval %s: %v", expr, err)
	}
}

func (b *browser) tryEval(expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := b.tryCall(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &res); err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		return fmt.Errorf("%s %s", res.ExceptionDetails.Text, res.ExceptionDetails.Exception.Description)
	}
	if out != nil && len(res.Result.Value) > 0 {
		return json.Unmarshal(res.Result.Value, out)
	}
	return nil
}

// waitFor polls a JavaScript condition until it is true; the limit only
// bounds a broken test, it measures nothing.
func (b *browser) waitFor(cond string, limit time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		var ok bool
		err := b.tryEval("Boolean("+cond+")", &ok)
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			var html string
			_ = b.tryEval(`document.getElementById("view") ? document.getElementById("view").innerText.slice(0, 1500) : document.body.innerText`, &html)
			b.t.Fatalf("waited %v for %s (last error %v); page text:\n%s", limit, cond, err, html)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// navigate loads url and waits for the document to be ready.
func (b *browser) navigate(url string) {
	b.t.Helper()
	b.do("Page.navigate", map[string]any{"url": url}, nil)
	b.waitFor(`document.readyState === "complete" && location.href === `+jsString(url), 15*time.Second)
}

// navigateAway is navigate for a page that may move itself to another
// hash before the check runs (a redirect by the app): it waits for the
// document at url's path, whatever its hash.
func (b *browser) navigateAway(url string) {
	b.t.Helper()
	b.do("Page.navigate", map[string]any{"url": url}, nil)
	page, _, _ := strings.Cut(url, "#")
	b.waitFor(`document.readyState === "complete" && location.href.startsWith(`+jsString(page)+`)`, 15*time.Second)
}

// screenshot saves a PNG of the page to $LANDFALL_UI_SCREENSHOTS/name.png
// when that variable names a folder (for looking at the UI by eye).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("LANDFALL_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	var shot struct {
		Data []byte `json:"data"`
	}
	b.do("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &shot)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot.Data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// takeExceptions returns and clears the recorded JavaScript errors.
func (b *browser) takeExceptions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.exceptions
	b.exceptions = nil
	return e
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
