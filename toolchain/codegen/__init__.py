"""Codegen's public API: IR + memory plan + kernel calls -> C sources through templates/.

Inference (toolchain.api.write_sources) and training (toolchain.train.program) both render
through these; nothing outside this package reaches into its modules' private names.
"""

from toolchain.codegen.arena_map import write_memory_map
from toolchain.codegen.ctext import c_identifier, c_string, safe_terminal
from toolchain.codegen.emit import (
    RUNTIME, TEMPLATES, CallRenderer, SourceSet, c_comment, c_ident, copy_runtime, ctype,
    render_sources, template_env, weight_values,
)

__all__ = ["RUNTIME", "TEMPLATES", "CallRenderer", "SourceSet", "c_comment", "c_ident", "c_identifier", "c_string",
           "copy_runtime", "ctype", "render_sources", "safe_terminal", "template_env", "weight_values",
           "write_memory_map"]
