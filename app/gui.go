package main

import "errors"

// runGUI opens the desktop app. The Fyne wiring replaces this placeholder (issue 6).
func runGUI(args []string) error {
	return errors.New("the desktop app is not built yet")
}
