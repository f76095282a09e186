"""The host build's old import path, for code written against it on the branches of this
session; it lives in toolchain.build.host (toolchain.build). Remove once callers moved."""

from toolchain.build.host import SANITIZE, WARN, BuildError, HostBinary, build_host, build_runtime_lib, host_cc, run_host

__all__ = ["SANITIZE", "WARN", "BuildError", "HostBinary", "build_host", "build_runtime_lib", "host_cc", "run_host"]
