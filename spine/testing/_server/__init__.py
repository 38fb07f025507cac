"""The sandbox server behind :mod:`spine.testing` (private: use the facade)."""
