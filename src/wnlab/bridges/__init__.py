"""Bridges to other libraries: :mod:`.torch` (``wnlab.torch``), PyTorch's ``weight_norm`` against wnlab."""
