"""The ONNX format: ``runtime`` (the backend, onnxruntime sessions and lanes), ``export`` (a
model to one fp32 graph, with torch), ``quantize`` (the batch-invariant int8 graph) and
``names`` (file names and the graph settings a cache is keyed by)."""
