"""Build hook for the optional compiled decoder; everything else is in pyproject.toml.

The extension is optional: without a C compiler ciyu installs anyway and uses the
pure-Python reference decoder (``ciyu.decoder``), which gives the same results, slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ciyu._lattice",
            sources=["src/ciyu/_lattice.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
