package cli

import (
	"context"
	"fmt"
	"runtime/debug"
)

func init() {
	Register(Command{
		Name:    "version",
		Summary: "print the landfall version and build information",
		Run: func(ctx context.Context, env *Env, args []string) error {
			rest, err := ParseFlags(NewFlagSet(env, "version"), args)
			if err != nil {
				return err
			}
			if len(rest) > 0 {
				return UsageError("version: unexpected argument %q", rest[0])
			}
			v := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok {
				v = bi.Main.Version
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						v += " " + s.Value
					}
				}
			}
			fmt.Fprintln(env.Stdout, "landfall", v)
			return nil
		},
	})
}
