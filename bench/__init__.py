"""Scripts run by hand (and, in short variants, by CI): chaos run, benchmarks."""
