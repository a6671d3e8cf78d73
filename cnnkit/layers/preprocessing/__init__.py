"""Preprocessing and data augmentation layers."""

__all__ = []
