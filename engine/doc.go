// Package engine turns board photos into anomaly maps and defects the HiSIR-Net way:
// decoding, reflect-padded tiling, ROPS merging of patch reconstructions, anomaly maps,
// normalisation, thresholds, connected components and the evaluation metrics.
//
// Everything here is pure Go and runs without a model; the ONNX Runtime adapter lives in
// engine/ortmodel and satisfies the Model interface declared in this package. The pipeline
// follows docs/model-contract.md exactly.
package engine
