package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
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

// progressPrinter returns a progress callback that redraws one line on a terminal and prints
// one line per step elsewhere (logs, CI). name == "" marks the end.
func progressPrinter(w io.Writer, what string) func(done, total int, name string) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	start := time.Now()
	return func(done, total int, name string) {
		el := time.Since(start).Round(100 * time.Millisecond)
		eta := ""
		if done > 0 && done < total {
			eta = " ETA " + (time.Since(start) / time.Duration(done) * time.Duration(total-done)).Round(time.Second).String()
		}
		switch {
		case name == "":
			fmt.Fprintf(w, "\r%s: %d/%d done in %s%30s\n", what, total, total, el, "")
		case tty:
			fmt.Fprintf(w, "\r%s: %d/%d %s %s%s   ", what, done+1, total, name, el, eta)
		default:
			fmt.Fprintf(w, "%s: %d/%d %s %s%s\n", what, done+1, total, name, el, eta)
		}
	}
}
