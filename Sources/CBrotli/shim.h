// libbrotli (Debian: libbrotli-dev): the encoder for bundles, the decoder for tests.
#include <brotli/encode.h>
#include <brotli/decode.h>
