//! safetensors headers, validation, streaming tensor reads in bounded memory, dtype decoding.
//! Files are read with positioned reads (never mapped), so a file truncated while it is read
//! gives an error rather than a SIGBUS.
