package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/client"
	"github.com/landfall/landfall/types"
)

func init() {
	Register(Command{Name: "live", Usage: "FILE|- [--fast] [--json] [--vocabulary a,b] [--pause 0.5] [--no-store]",
		Summary: "stream audio to a server's live captions and print them as they come", Run: liveCmd})
}

// liveCmd streams a file (decoded to 16 kHz mono PCM; a WAV in that
// format is sent as it is) or standard input (PCM or WAV, or an Ogg or
// WebM stream sent as it arrives) to GET /v1/live, at real time unless
// --fast, and prints the captions.
func liveCmd(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "live")
	mk := clientFlags(env, fs)
	fast := fs.Bool("fast", false, "send as fast as the server takes it, not at real time")
	asJSON := fs.Bool("json", false, "print every server message as one JSON line (partial results included)")
	vocab := fs.String("vocabulary", "", "comma-separated words the recogniser should expect (names, jargon)")
	pause := fs.Float64("pause", 0.5, "silence in seconds that ends a caption (0.2–3)")
	noStore := fs.Bool("no-store", false, "do not keep the recording as a media item")
	name := fs.String("filename", "", "name of the stored recording (default: the file's)")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return UsageError("live: name one FILE, or - for standard input")
	}
	start := types.LiveStart{Pause: *pause, Filename: *name}
	for _, w := range strings.Split(*vocab, ",") {
		if w = strings.TrimSpace(w); w != "" {
			start.Vocabulary = append(start.Vocabulary, w)
		}
	}
	if *noStore {
		start.Store = new(bool)
	}
	var audio io.Reader
	rate := 32000.0 // PCM bytes a second of real time
	if *fast {
		rate = 0
	}
	if rest[0] == "-" {
		br := bufio.NewReaderSize(env.Stdin, 64<<10)
		head, _ := br.Peek(4)
		switch {
		case string(head) == "OggS":
			start.Format, rate = "ogg", 0 // a container comes at the pace it is made
		case len(head) == 4 && head[0] == 0x1a && head[1] == 0x45 && head[2] == 0xdf && head[3] == 0xa3:
			start.Format, rate = "webm", 0
		}
		audio = br
	} else {
		pcm, err := speech.OpenPCM(ctx, rest[0])
		if err != nil {
			return err
		}
		defer pcm.Close()
		audio = pcm
		if start.Filename == "" {
			start.Filename = rest[0][strings.LastIndex(rest[0], "/")+1:]
		}
	}
	c := mk()
	sess, err := c.Live(ctx, start)
	if err != nil {
		return err
	}
	printed := make(chan error, 1)
	go func() { printed <- printLive(env, sess, *asJSON) }()
	// 50 ms blocks: the recogniser looks for a partial result once a block.
	serr := sess.StreamAudio(ctx, audio, 1600, rate, nil)
	if serr == nil {
		serr = sess.End(ctx)
	} else if ctx.Err() != nil {
		// Ctrl-C: end the session properly so the audio sent is stored.
		_ = sess.End(context.Background())
	}
	perr := <-printed
	if err := sess.Err(); err != nil {
		return err
	}
	if serr != nil && !errors.Is(serr, context.Canceled) {
		return serr
	}
	return perr
}

// printLive prints a session's messages: JSON lines, or captions (on a
// terminal the partial result of the open caption is rewritten in
// place; elsewhere only final ones are printed).
func printLive(env *Env, sess *client.LiveSession, asJSON bool) error {
	tty := isTerminal(env.Stdout)
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	open := false
	for m := range sess.Messages() {
		if asJSON {
			if err := enc.Encode(m); err != nil {
				return err
			}
			continue
		}
		switch m.Landfall.Event {
		case "started":
			fmt.Fprintf(env.Stderr, "live session %s: viewers can follow %s\n", m.Landfall.SessionID, m.Landfall.ViewerURL)
		case "ended":
			if open {
				fmt.Fprintln(env.Stdout)
				open = false
			}
			switch {
			case m.Landfall.MediaID != "":
				fmt.Fprintf(env.Stderr, "session ended (%s): %d words; recording stored as media %s\n", m.Landfall.Reason, m.Landfall.Words, m.Landfall.MediaID)
			default:
				fmt.Fprintf(env.Stderr, "session ended (%s): %d words\n", m.Landfall.Reason, m.Landfall.Words)
			}
			if m.Landfall.Error != "" {
				fmt.Fprintf(env.Stderr, "error: %s\n", m.Landfall.Error)
			}
		case "transcript":
			if m.Transcript == nil || len(m.Transcript.Results) == 0 {
				continue
			}
			r := m.Transcript.Results[0]
			text := ""
			if len(r.Alternatives) > 0 {
				text = r.Alternatives[0].Transcript
			}
			line := fmt.Sprintf("[%s → %s] %s", clock(r.StartTime), clock(r.EndTime), text)
			switch {
			case r.IsPartial && tty:
				fmt.Fprintf(env.Stdout, "\r\x1b[K%s", line)
				open = true
			case r.IsPartial:
			default:
				if tty {
					fmt.Fprint(env.Stdout, "\r\x1b[K")
				}
				fmt.Fprintln(env.Stdout, line)
				open = false
			}
		}
	}
	return nil
}

func clock(sec float64) string {
	m := int(sec) / 60
	return fmt.Sprintf("%02d:%04.1f", m, sec-float64(m*60))
}
