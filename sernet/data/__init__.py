"""Corpora as manifests: reading/validating audio and manifests, the synthetic corpus."""

from sernet.data.audio import read_audio, validate_audio, write_wav
from sernet.data.manifest import read_manifest, write_manifest

__all__ = ["read_audio", "read_manifest", "validate_audio", "write_manifest", "write_wav"]
