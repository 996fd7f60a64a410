package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/landfall/landfall/types"
)

// printVision prints the labels (per shot for a video, with their times)
// and the moderation result of a media item's insights.
func printVision(w io.Writer, ins *types.Insights) {
	v := ins.Vision
	if v == nil {
		return
	}
	video := false
	for _, s := range v.Shots {
		video = video || s.EndMS > 0
	}
	for _, s := range v.Shots {
		var ls []string
		for _, l := range s.Labels {
			n := fmt.Sprintf("%s %.0f%%", l.Name, l.Confidence)
			if len(l.Instances) > 1 {
				n += fmt.Sprintf(" ×%d", len(l.Instances))
			}
			if len(l.Instances) > 0 {
				ls = append(ls, n) // located objects; their parents follow in the record
			}
		}
		if len(ls) == 0 {
			ls = []string{"(none)"}
		}
		if video {
			fmt.Fprintf(w, "   labels, shot %d %5.1f–%5.1fs: %s\n", s.Shot, float64(s.StartMS)/1000, float64(s.EndMS)/1000, strings.Join(ls, ", "))
		} else {
			fmt.Fprintf(w, "   labels: %s\n", strings.Join(ls, ", "))
		}
	}
	var flags []string
	for _, m := range ins.Moderation {
		flags = append(flags, fmt.Sprintf("%s %.0f%%", m.Name, m.Confidence))
	}
	if len(flags) == 0 {
		flags = []string{"nothing flagged"}
	}
	line := "   moderation: " + strings.Join(flags, ", ")
	if d := ins.ModerationDecision; d != nil && d.Policy != "" {
		line += fmt.Sprintf(" (%s policy: %s)", d.Policy, d.Action)
	}
	fmt.Fprintln(w, line)
}
