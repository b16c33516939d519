package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// guiOptions are the flags of the desktop app.
type guiOptions struct {
	demo    bool
	project string
	model   string
	autorun bool // run the model on images not run yet once the project is open
}

// appID is the Fyne application id (also in FyneApp.toml).
const appID = "io.hisirdesk.hisir"

// runGUI opens the desktop app: `hisir`, `hisir --demo`, `hisir --project FILE --model FILE`.
func runGUI(args []string) error {
	fs := newFlagSet("[--demo]", "[--project FILE] [--model FILE] [--run]", os.Stderr)
	var o guiOptions
	fs.BoolVar(&o.demo, "demo", false, "open the demo project on the bundled sample panel and run the model on it")
	fs.StringVar(&o.project, "project", "", "project file to open (created when missing); default: the last one, or hisir/projects/default.hisir in the user's config folder")
	fs.StringVar(&o.model, "model", "", "ONNX model (default "+defaultModel+" beside the executable or in the repository, else the first model in assets/models; --demo falls back to "+demoFallbackModel+")")
	fs.BoolVar(&o.autorun, "run", false, "run the model on every image not run yet when the project opens")
	if err := parseFlags(fs, args); err != nil {
		if err == errHelp {
			return nil
		}
		return err
	}
	a := fyneapp.NewWithID(appID)
	if icon := appIcon(); icon != nil {
		a.SetIcon(icon)
	}
	w := a.NewWindow("HiSIR Desk")
	g := newGUI(a, w, o)
	w.SetContent(container.NewCenter(widget.NewLabel("Opening HiSIR Desk…")))
	w.Resize(fyne.NewSize(1600, 1000))
	w.SetMaster()
	w.SetOnClosed(g.close)
	go g.start(context.Background())
	w.ShowAndRun()
	return nil
}

// appIcon loads assets/icon.png from beside the executable or the repository.
func appIcon() fyne.Resource {
	p, err := findAsset("assets/icon.png")
	if err != nil {
		return nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	return fyne.NewStaticResource(filepath.Base(p), data)
}

// defaultProjectPath is where a project opens when none is named: the last one used, or
// projects/default.hisir in the user's config folder.
func defaultProjectPath(a fyne.App) (string, error) {
	if last := a.Preferences().String("lastProject"); last != "" {
		if _, err := os.Stat(last); err == nil {
			return last, nil
		}
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find a folder for the default project: %w", err)
	}
	dir = filepath.Join(dir, "hisir", "projects")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return filepath.Join(dir, "default.hisir"), nil
}

// guiModelPath is the model the app opens without --model: the shipped default, else
// the first other model in assets/models (so a fresh checkout opens with what it has).
func guiModelPath() (string, error) {
	p, err := defaultModelPath()
	if err == nil {
		return p, nil
	}
	for _, root := range assetRoots() {
		entries, rerr := os.ReadDir(filepath.Join(root, "assets", "models"))
		if rerr != nil {
			continue
		}
		var names []string
		for _, e := range entries {
			if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".onnx") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		if len(names) > 0 {
			return filepath.Join(root, "assets", "models", names[0]), nil
		}
	}
	return "", err
}
