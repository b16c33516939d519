package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ContractVersion is the major version of docs/model-contract.md this engine implements.
const ContractVersion = 1

// Metadata keys of the model contract.
const (
	KeyContractVersion    = "hisir.contract_version"
	KeyPatchSize          = "hisir.patch_size"
	KeyStride             = "hisir.stride"
	KeyTDiff              = "hisir.t_diff"
	KeyBackbone           = "hisir.backbone"
	KeyGate               = "hisir.gate"
	KeyPositionalEncoding = "hisir.positional_encoding"
	KeyName               = "hisir.name"
	KeyCalibration        = "hisir.calibration"
	KeyCard               = "hisir.card"
)

// Tensor names of the model contract.
const (
	InputImage           = "image"
	InputPosition        = "position"
	OutputReconstruction = "reconstruction"
	OutputGate           = "gate"
)

// ErrContract reports a model file that does not follow docs/model-contract.md.
var ErrContract = errors.New("model does not follow the hisir model contract")

// ErrNoCalibration reports a calibrated normalisation asked of a model without calibration.
var ErrNoCalibration = errors.New("model has no calibration; use per-image min-max normalisation or run calibrate")

// Calibration is the score scale of a model on held-out normal images (hisir.calibration).
type Calibration struct {
	Version   int     `json:"version"`
	Images    int     `json:"images"`
	Pixels    int64   `json:"pixels"`
	Merge     string  `json:"merge"`
	CellStat  string  `json:"cell_stat"`
	Reduce    string  `json:"reduce"`
	BlurSigma float64 `json:"blur_sigma"`
	Q50       float64 `json:"q50"`
	Q99       float64 `json:"q99"`
	Q999      float64 `json:"q999"`
	Max       float64 `json:"max"`
}

// ModelInfo is what the engine knows about a model from its contract metadata.
type ModelInfo struct {
	Path               string
	Name               string
	ContractVersion    int
	PatchSize          int
	Stride             int
	TDiff              float64
	Backbone           string
	Gate               bool
	PositionalEncoding bool
	Calibration        *Calibration // nil when the model is not calibrated
	Card               string       // raw JSON of hisir.card, may be empty
	Provider           string       // execution provider actually in use, e.g. "CPU" or "CUDA"
}

// Model reconstructs batches of patches. Implementations must be safe for one caller at a time.
type Model interface {
	// Info returns the contract metadata and the provider in use.
	Info() ModelInfo
	// Reconstruct runs n patches. images holds n*3*P*P floats (NCHW), positions n*2 floats;
	// recon (n*3*P*P) and gate (n*P*P) are filled by the call.
	Reconstruct(ctx context.Context, n int, images, positions, recon, gate []float32) error
	// Close frees the session and its tensors.
	Close() error
}

// ParseMetadata validates contract metadata and returns the model info it describes.
// The error wraps ErrContract and names the offending key.
func ParseMetadata(md map[string]string) (ModelInfo, error) {
	var info ModelInfo
	get := func(key string) (string, error) {
		v, ok := md[key]
		if !ok {
			return "", fmt.Errorf("%w: missing metadata key %q", ErrContract, key)
		}
		return v, nil
	}
	getInt := func(key string) (int, error) {
		v, err := get(key)
		if err != nil {
			return 0, err
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%w: metadata %q=%q is not an integer", ErrContract, key, v)
		}
		return n, nil
	}
	getBool := func(key string) (bool, error) {
		v, err := get(key)
		if err != nil {
			return false, err
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%w: metadata %q=%q is not true or false", ErrContract, key, v)
		}
		return b, nil
	}
	var err error
	if info.ContractVersion, err = getInt(KeyContractVersion); err != nil {
		return info, err
	}
	if info.ContractVersion != ContractVersion {
		return info, fmt.Errorf("%w: model is contract version %d, this engine implements version %d",
			ErrContract, info.ContractVersion, ContractVersion)
	}
	if info.PatchSize, err = getInt(KeyPatchSize); err != nil {
		return info, err
	}
	if info.PatchSize < 8 || info.PatchSize%2 != 0 {
		return info, fmt.Errorf("%w: patch size %d must be even and at least 8", ErrContract, info.PatchSize)
	}
	if info.Stride, err = getInt(KeyStride); err != nil {
		return info, err
	}
	if info.Stride != info.PatchSize/2 {
		return info, fmt.Errorf("%w: stride %d must be half the patch size %d", ErrContract, info.Stride, info.PatchSize)
	}
	td, err := get(KeyTDiff)
	if err != nil {
		return info, err
	}
	if info.TDiff, err = strconv.ParseFloat(td, 64); err != nil || info.TDiff < 0 {
		return info, fmt.Errorf("%w: metadata %q=%q is not a non-negative number", ErrContract, KeyTDiff, td)
	}
	if info.Backbone, err = get(KeyBackbone); err != nil {
		return info, err
	}
	switch info.Backbone {
	case "swin", "resnet", "identity":
	default:
		return info, fmt.Errorf("%w: unknown backbone %q", ErrContract, info.Backbone)
	}
	if info.Gate, err = getBool(KeyGate); err != nil {
		return info, err
	}
	if info.PositionalEncoding, err = getBool(KeyPositionalEncoding); err != nil {
		return info, err
	}
	if info.Name, err = get(KeyName); err != nil {
		return info, err
	}
	if raw, ok := md[KeyCalibration]; ok && raw != "" {
		var c Calibration
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			return info, fmt.Errorf("%w: metadata %q is not valid JSON: %v", ErrContract, KeyCalibration, err)
		}
		if !(c.Q999 > c.Q50) {
			return info, fmt.Errorf("%w: calibration q999 %g must exceed q50 %g", ErrContract, c.Q999, c.Q50)
		}
		info.Calibration = &c
	}
	info.Card = md[KeyCard]
	return info, nil
}

// DefaultThreshold is the global threshold a model starts with before an engineer tunes it.
// For a calibrated model it is the calibrated score of the largest raw value seen on the
// held-out normal images, (max − q50) / (q999 − q50), and at least 1: a threshold that makes no
// false call on the calibration images, where 1 (the 99.9th percentile) would flag about one
// pixel in a thousand of every normal image. An uncalibrated model gets 0.5 of the per-image
// min-max range.
func DefaultThreshold(info ModelInfo) float64 {
	c := info.Calibration
	if c == nil || !(c.Q999 > c.Q50) {
		return 0.5
	}
	return max(1, (c.Max-c.Q50)/(c.Q999-c.Q50))
}
