"""Channels translate vendor updates to neutral messages and back. One module per channel.

Kept import-free so that importing one channel never drags in another vendor's SDK.
"""
