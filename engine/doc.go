// Package engine turns board photos into anomaly maps and defects the HiSIR-Net way:
// decoding, reflect-padded tiling, ROPS merging of patch reconstructions, anomaly maps,
// normalisation, thresholds, connected components and the evaluation metrics.
//
// Everything here runs without a model and without cgo; the ONNX Runtime adapter lives in
// engine/ortmodel and satisfies the Model interface declared in this package. The pipeline
// follows docs/model-contract.md exactly. The hot loops (kernels.go) have AVX2 versions in
// Go assembly (kernels_amd64.s) that give bit-identical results; other CPUs, and builds with
// -tags purego, run the Go loops, and the tests run both.
package engine
