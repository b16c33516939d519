// Package evaluate measures anomaly maps against ground truth the way the HiSIR-Net paper and
// MVTec AD do, at 4K scale: pixel AUROC and AUPRO from streaming histograms (so a whole test set
// of 4K maps never has to sit in memory), defect-level precision and recall with one-to-one
// matching at IoU > 0.5, false positives per defect-free image, and image-level AUROC.
//
// The exact, in-memory reference implementations live in package engine; the tests here check
// that the streaming versions agree with them.
package evaluate
