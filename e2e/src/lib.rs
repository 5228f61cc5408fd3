//! Black-box end-to-end tests live in `tests/`.
