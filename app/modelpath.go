package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hisirdesk/hisir/engine/ortmodel"
)

// defaultModel is the shipped model used when no --model is given, relative to the
// install folder or the repository root.
const defaultModel = "assets/models/synth4k.onnx"

// errAssetNotFound reports a shipped file found in none of the usual places.
var errAssetNotFound = errors.New("not found")

// assetRoots lists, in order, the folders that may hold the shipped assets: the
// executable's folder and the one above it (an install tree, or bin/ of a checkout), then
// the repository root found by walking up from the working directory to go.mod.
func assetRoots() []string {
	var roots []string
	add := func(d string) {
		for _, r := range roots {
			if r == d {
				return
			}
		}
		roots = append(roots, d)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dir := filepath.Dir(exe)
		add(dir)
		add(filepath.Dir(dir))
	}
	if wd, err := os.Getwd(); err == nil {
		if root, ok := repoRootAbove(wd); ok {
			add(root)
		}
	}
	return roots
}

// repoRootAbove walks up from dir to the first folder holding go.mod.
func repoRootAbove(dir string) (string, bool) {
	for {
		if st, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && st.Mode().IsRegular() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// findAsset returns the first existing rel (slash-separated, e.g. defaultModel) under
// assetRoots, or an error wrapping errAssetNotFound that names every place tried.
func findAsset(rel string) (string, error) {
	var tried []string
	for _, root := range assetRoots() {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("%s %w (tried %s)", rel, errAssetNotFound, strings.Join(tried, ", "))
}

// defaultModelPath finds the shipped default model.
func defaultModelPath() (string, error) {
	p, err := findAsset(defaultModel)
	if err != nil {
		return "", fmt.Errorf("default model: %w; pass --model", err)
	}
	return p, nil
}

// libraryPath finds the ONNX Runtime library: explicit when set, else
// $ONNXRUNTIME_SHARED_LIBRARY_PATH, lib/libonnxruntime.so.1 beside the executable or one
// folder above it, then the setup cache.
func libraryPath(explicit string) (string, error) {
	if explicit != "" {
		return ortmodel.FindLibrary(explicit)
	}
	p, err := ortmodel.FindLibrary("")
	if err == nil {
		return p, nil
	}
	// bin/hisir in a checkout or install tree keeps the library in lib/ one folder up.
	for _, root := range assetRoots() {
		cand := filepath.Join(root, "lib", "libonnxruntime.so.1")
		if st, serr := os.Stat(cand); serr == nil && st.Mode().IsRegular() {
			return cand, nil
		}
	}
	return "", err
}
