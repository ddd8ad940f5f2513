"""Scalar math, written once for every target: plain float64 functions
compiled with numba.njit (no allocation, no exceptions), callable from CPU
loops, CUDA kernels and a user's own @njit code."""
