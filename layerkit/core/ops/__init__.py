"""The core's ops, one module per family: elementwise, reductions, shapes,
indexing, linear algebra, nnet, convolution and pooling, random draws."""
