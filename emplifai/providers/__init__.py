"""Inspect model providers this package adds (registered through the ``inspect_ai`` entry point).

``gguf/<file or bundled name>``: a local GGUF model served by llama.cpp (xllamacpp); see
``emplifai.providers.gguf``. The provider class is imported only when a ``gguf/`` model is
created, so importing this package costs nothing when no GGUF model is used.
"""

from __future__ import annotations

from inspect_ai.model import ModelAPI, modelapi


@modelapi(name="gguf")
def gguf() -> type[ModelAPI]:
    from emplifai.providers.gguf import GGUFAPI

    return GGUFAPI
