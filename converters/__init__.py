"""The workstation converter stage (heavy dependencies are imported inside the functions that need them)."""
