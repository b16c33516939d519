package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
)

// The undo and redo shortcuts: Ctrl+Z undoes; Ctrl+Shift+Z and Ctrl+Y redo (Cmd on macOS).
// The desktop driver turns Ctrl+Z into fyne.ShortcutUndo and Ctrl+Y into fyne.ShortcutRedo.
var (
	UndoShortcut    fyne.Shortcut = &fyne.ShortcutUndo{}
	RedoShortcut    fyne.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyZ, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
	RedoShortcutAlt fyne.Shortcut = &fyne.ShortcutRedo{}
)

// IsUndo reports whether s is the undo shortcut.
func IsUndo(s fyne.Shortcut) bool { return s.ShortcutName() == UndoShortcut.ShortcutName() }

// IsRedo reports whether s is one of the redo shortcuts.
func IsRedo(s fyne.Shortcut) bool {
	n := s.ShortcutName()
	return n == RedoShortcut.ShortcutName() || n == RedoShortcutAlt.ShortcutName()
}
