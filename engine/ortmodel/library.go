package ortmodel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ORTVersion is the ONNX Runtime release scripts/setup.sh caches (API 24, as onnxruntime_go v1.27.0 expects).
const ORTVersion = "1.24.3"

// LibraryEnv is the environment variable that names the ONNX Runtime shared library.
const LibraryEnv = "ONNXRUNTIME_SHARED_LIBRARY_PATH"

// ErrLibraryNotFound reports that no ONNX Runtime shared library was found; the error names the places tried.
var ErrLibraryNotFound = errors.New("onnx runtime library not found (run scripts/setup.sh, or set " + LibraryEnv + ")")

// CacheDir is the setup cache: $HISIR_CACHE, else $HOME/.cache/hisir.
func CacheDir() string {
	if d := os.Getenv("HISIR_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".cache", "hisir")
	}
	return filepath.Join(home, ".cache", "hisir")
}

// LibraryCandidates lists, in order, where FindLibrary looks for the ONNX Runtime library:
// explicit (when set, it is the only place), $ONNXRUNTIME_SHARED_LIBRARY_PATH,
// lib/libonnxruntime.so.1 beside the executable, and the setup cache.
func LibraryCandidates(explicit string) []string {
	if explicit != "" {
		return []string{explicit}
	}
	var c []string
	if env := os.Getenv(LibraryEnv); env != "" {
		c = append(c, env)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		c = append(c, filepath.Join(filepath.Dir(exe), "lib", "libonnxruntime.so.1"))
	}
	c = append(c, filepath.Join(CacheDir(), "ort-"+ORTVersion, "libonnxruntime.so.1"))
	return c
}

// FindLibrary returns the absolute path of the first existing regular file among
// LibraryCandidates(explicit), or an error wrapping ErrLibraryNotFound that names them all.
func FindLibrary(explicit string) (string, error) {
	tried := LibraryCandidates(explicit)
	for _, p := range tried {
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("resolve onnx runtime library %s: %w", p, err)
		}
		return abs, nil
	}
	return "", fmt.Errorf("%w; tried %s", ErrLibraryNotFound, strings.Join(tried, ", "))
}

// The ONNX Runtime environment is process-wide: it is initialised once, from the library the
// first Open resolved, and its initialisation error, if any, is kept for every later Open.
var (
	envMu   sync.Mutex
	envDone bool
	envErr  error
	envPath string
)

// initEnvironment loads the library at path once per process.
func initEnvironment(path string) error {
	envMu.Lock()
	defer envMu.Unlock()
	if !envDone {
		envDone = true
		envPath = path
		ort.SetSharedLibraryPath(path)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			envErr = fmt.Errorf("initialise onnx runtime from %s: %w", path, err)
		}
	}
	return envErr
}

// LoadedLibrary returns the path of the ONNX Runtime library this process loaded, or "" before the first Open.
func LoadedLibrary() string {
	envMu.Lock()
	defer envMu.Unlock()
	if envErr != nil {
		return ""
	}
	return envPath
}
