"""fxsim: bit-accurate ap_fixed emulation of hls4ml RNN/Dense models."""
