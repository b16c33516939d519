"""HiSIR-Net training, export and calibration (the training side of the HiSIR model contract)."""
