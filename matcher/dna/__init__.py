"""DNA profiles: loci, allele codes, normalisation, the encoded index and its kernels,
synthetic national databases."""
