// Package ui holds the HiSIR Desk widgets: the 4K image viewer with its overlays
// (heatmap, thresholded defects, human labels, twin image), the threshold slider, the
// tuning chart, the review panel, the polygon label editor and the project screen.
//
// The package depends on Fyne and on the plain data types of engine and engine/geom only.
// Everything that touches a database or a model is reached through the small interfaces
// declared here (Reviewer, LabelSaver, Project, BatchRunner, Exporter), which the app wires
// to the concrete store and engine and which the tests replace with fakes.
package ui
