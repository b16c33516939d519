// Command hisir is HiSIR Desk: with no arguments it opens the desktop app; with a
// subcommand (infer, eval, synth, import, export, bench, prune) it runs headless.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one headless subcommand. run receives the arguments after the name.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// register adds a subcommand; each subcommand file calls it from init.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("hisir: duplicate command " + c.name)
	}
	commands[c.name] = c
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return guiExit(runGUI(nil), stderr)
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		if strings.HasPrefix(name, "-") {
			// Flags without a subcommand go to the GUI (e.g. --project, --model).
			return guiExit(runGUI(args), stderr)
		}
		fmt.Fprintf(stderr, "hisir: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	if err := c.run(args[1:], stdout, stderr); err != nil {
		switch err {
		case errHelp:
			return 0
		case errUsage:
			return 2
		}
		fmt.Fprintf(stderr, "hisir %s: %v\n", name, err)
		return 1
	}
	return 0
}

// guiExit turns the GUI's result into an exit code; flag errors were already printed.
func guiExit(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "hisir:", err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hisir [command] [flags]")
	fmt.Fprintln(w, "\nWith no command, hisir opens the HiSIR Desk app.\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'hisir COMMAND --help' for a command's flags; every command takes --json.")
}
