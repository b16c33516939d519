package engine

// TraceOutline exposes the unsimplified outline tracer to the external tests.
var TraceOutline = traceOutline
