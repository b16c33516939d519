package main

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
)

// errUsage is returned by a command whose flags did not parse; the flag package has
// already printed the problem and the usage.
var errUsage = errors.New("usage")

// newFlagSet returns a flag set that prints to stderr and returns errUsage on bad flags.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		io.WriteString(stderr, "usage: hisir "+name+" "+synopsis+"\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; -h/--help prints usage and yields errUsage with exit code 0 semantics
// handled by the caller through errHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	return nil
}

// errHelp means the user asked for --help; the usage has been printed.
var errHelp = errors.New("help shown")

// writeJSON writes v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
